/*
 * imurehab Open Sensor Protocol (OSP) v1 -- reference encoder, portable C99. See osp_encode.h.
 */
#include "osp_encode.h"

#include <string.h>

/* CRC-32 (reflected 0xEDB88320) of each 4-bit value: a 64-byte table, two steps per byte. */
static const uint32_t crc_nibble[16] = {
    0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u, 0x4DB26158u, 0x5005713Cu,
    0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu, 0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu,
};

uint32_t osp_crc32(const uint8_t *data, size_t len, uint32_t crc)
{
    size_t i;
    crc = ~crc;
    for (i = 0; i < len; i++) {
        crc ^= data[i];
        crc = (crc >> 4) ^ crc_nibble[crc & 0x0Fu];
        crc = (crc >> 4) ^ crc_nibble[crc & 0x0Fu];
    }
    return ~crc;
}

static uint8_t *put_u8(uint8_t *p, uint8_t v)
{
    p[0] = v;
    return p + 1;
}

static uint8_t *put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v & 0xFFu);
    p[1] = (uint8_t)(v >> 8);
    return p + 2;
}

static uint8_t *put_u32(uint8_t *p, uint32_t v)
{
    int i;
    for (i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
    return p + 4;
}

static uint8_t *put_u64(uint8_t *p, uint64_t v)
{
    int i;
    for (i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
    return p + 8;
}

static uint8_t *put_f32(uint8_t *p, float v)
{
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits); /* IEEE-754 binary32 is required by the spec */
    return put_u32(p, bits);
}

/* Append the CRC-32 of out[0..n) and return the total length. */
static size_t seal(uint8_t *out, size_t n)
{
    put_u32(out + n, osp_crc32(out, n, 0));
    return n + OSP_CRC_BYTES;
}

static unsigned channel_count(uint8_t mask)
{
    return 3u * (unsigned)(((mask & OSP_CH_ACC) != 0) + ((mask & OSP_CH_GYR) != 0) + ((mask & OSP_CH_MAG) != 0));
}

size_t osp_data_frame_bytes(uint8_t n_samples, uint8_t channel_mask)
{
    return OSP_DATA_HEADER_BYTES + 2u * (size_t)n_samples * channel_count(channel_mask) + OSP_CRC_BYTES;
}

uint8_t osp_samples_per_frame(uint16_t att_mtu, uint8_t channel_mask)
{
    unsigned per_sample = 2u * channel_count(channel_mask);
    long room = (long)att_mtu - 3 - (long)OSP_DATA_HEADER_BYTES - (long)OSP_CRC_BYTES;
    long n;
    if (per_sample == 0 || room <= 0) {
        return 0;
    }
    n = room / (long)per_sample;
    return (uint8_t)(n > 255 ? 255 : n);
}

size_t osp_encode_data_frame(uint8_t *out, size_t cap, const osp_data_header_t *h, const int16_t *samples)
{
    size_t total, k, values;
    uint8_t *p = out;
    if (h->n_samples == 0 || h->channel_mask == 0 || (h->channel_mask & ~0x07u) != 0) {
        return 0;
    }
    total = osp_data_frame_bytes(h->n_samples, h->channel_mask);
    if (total > cap || total > 0xFFFFu) {
        return 0;
    }
    p = put_u8(p, OSP_VERSION);
    p = put_u8(p, OSP_DATA);
    p = put_u8(p, h->stream_id);
    p = put_u8(p, h->flags);
    p = put_u16(p, (uint16_t)total);
    p = put_u8(p, h->n_samples);
    p = put_u8(p, h->channel_mask);
    p = put_u32(p, h->session_id);
    p = put_u32(p, h->seq);
    p = put_u64(p, h->first_index);
    p = put_u64(p, h->first_time_us);
    values = (size_t)h->n_samples * channel_count(h->channel_mask);
    for (k = 0; k < values; k++) {
        p = put_u16(p, (uint16_t)samples[k]); /* two's complement, little-endian */
    }
    return seal(out, (size_t)(p - out));
}

static size_t text_len(const char *s)
{
    return s == NULL ? 0 : strlen(s);
}

size_t osp_encode_descriptor(uint8_t *out, size_t cap, const osp_descriptor_t *d)
{
    const char *strings[4];
    size_t lens[4], total = OSP_DESCRIPTOR_FIXED_BYTES + OSP_CRC_BYTES;
    uint8_t *p = out;
    int i;
    strings[0] = d->imu_model;
    strings[1] = d->serial;
    strings[2] = d->firmware;
    strings[3] = d->axis_frame;
    for (i = 0; i < 4; i++) {
        lens[i] = text_len(strings[i]);
        if (lens[i] > OSP_MAX_STRING_BYTES) {
            return 0;
        }
        total += 1 + lens[i];
    }
    if (total > cap || d->rate_mhz == 0 || (d->channel_mask & ~0x07u) != 0) {
        return 0;
    }
    p = put_u8(p, OSP_VERSION);
    p = put_u8(p, OSP_DESCRIPTOR);
    p = put_u8(p, d->stream_id);
    p = put_u8(p, 0); /* flags: none defined for DESCRIPTOR */
    p = put_u16(p, (uint16_t)total);
    p = put_u8(p, d->protocol_minor);
    p = put_u8(p, d->channel_mask);
    p = put_u8(p, d->acc_range_g);
    p = put_u8(p, 0); /* reserved */
    p = put_u32(p, d->rate_mhz);
    p = put_f32(p, d->acc_scale);
    p = put_f32(p, d->gyr_scale);
    p = put_f32(p, d->mag_scale);
    p = put_u32(p, d->boot_id);
    p = put_u32(p, d->session_id);
    p = put_u16(p, d->gyr_range_dps);
    for (i = 0; i < 4; i++) {
        p = put_u8(p, (uint8_t)lens[i]);
        if (lens[i] > 0) {
            memcpy(p, strings[i], lens[i]);
        }
        p += lens[i];
    }
    return seal(out, (size_t)(p - out));
}

size_t osp_encode_chunk(uint8_t *out, size_t cap, uint32_t session_id, uint32_t offset, const uint8_t *data,
                        uint16_t len)
{
    uint8_t *p = out;
    if ((size_t)OSP_CHUNK_HEADER_BYTES + len + OSP_CRC_BYTES > cap) {
        return 0;
    }
    p = put_u8(p, OSP_VERSION);
    p = put_u8(p, OSP_CHUNK);
    p = put_u16(p, len);
    p = put_u32(p, session_id);
    p = put_u32(p, offset);
    if (len > 0) {
        memcpy(p, data, len);
    }
    p += len;
    return seal(out, (size_t)(p - out));
}

size_t osp_encode_end(uint8_t *out, size_t cap, const osp_end_t *e)
{
    uint8_t *p = out;
    if (cap < 29) {
        return 0;
    }
    p = put_u8(p, OSP_VERSION);
    p = put_u8(p, OSP_END);
    p = put_u8(p, e->tag);
    p = put_u8(p, e->status);
    p = put_u32(p, e->session_id);
    p = put_u32(p, e->offset);
    p = put_u32(p, e->length);
    p = put_u32(p, e->range_crc);
    p = put_u32(p, e->log_length);
    p = put_u32(p, e->log_crc);
    p = put_u8(p, e->state);
    return (size_t)(p - out);
}

size_t osp_encode_response_head(uint8_t *out, size_t cap, uint8_t opcode, uint8_t tag, uint8_t status)
{
    if (cap < 5) {
        return 0;
    }
    out[0] = OSP_VERSION;
    out[1] = OSP_RESPONSE;
    out[2] = opcode;
    out[3] = tag;
    out[4] = status;
    return 5;
}

size_t osp_encode_list_response(uint8_t *out, size_t cap, uint8_t tag, uint16_t total, uint16_t first,
                                const osp_session_entry_t *entries, uint8_t count)
{
    uint8_t *p;
    uint8_t i;
    if (cap < 10u + (size_t)count * OSP_LIST_ENTRY_BYTES) {
        return 0;
    }
    p = out + osp_encode_response_head(out, cap, OSP_CMD_LIST, tag, OSP_OK);
    p = put_u16(p, total);
    p = put_u16(p, first);
    p = put_u8(p, count);
    for (i = 0; i < count; i++) {
        const osp_session_entry_t *e = &entries[i];
        p = put_u32(p, e->session_id);
        p = put_u8(p, e->state);
        p = put_u32(p, e->boot_id);
        p = put_u32(p, e->length);
        p = put_u32(p, e->log_crc);
        p = put_u32(p, e->n_samples);
        p = put_u64(p, e->first_index);
        p = put_u64(p, e->first_time_us);
    }
    return (size_t)(p - out);
}

size_t osp_encode_clock_sync_response(uint8_t *out, size_t cap, uint8_t tag, uint64_t t1_us, uint64_t t2_us,
                                      uint64_t t3_us, uint32_t boot_id)
{
    uint8_t *p;
    if (cap < 33) {
        return 0;
    }
    p = out + osp_encode_response_head(out, cap, OSP_CMD_CLOCK_SYNC, tag, OSP_OK);
    p = put_u64(p, t1_us);
    p = put_u64(p, t2_us);
    p = put_u64(p, t3_us);
    p = put_u32(p, boot_id);
    return (size_t)(p - out);
}

static uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint64_t get_u64(const uint8_t *p)
{
    return (uint64_t)get_u32(p) | ((uint64_t)get_u32(p + 4) << 32);
}

uint8_t osp_parse_command(const uint8_t *in, size_t len, osp_command_t *cmd)
{
    size_t want;
    memset(cmd, 0, sizeof *cmd);
    if (len < 1 || in[0] != OSP_VERSION) {
        return len < 1 ? OSP_INVALID_LENGTH : OSP_UNSUPPORTED_VERSION;
    }
    if (len < 3) {
        if (len == 2) {
            cmd->opcode = in[1];
        }
        return OSP_INVALID_LENGTH;
    }
    cmd->opcode = in[1];
    cmd->tag = in[2];
    switch (cmd->opcode) {
    case OSP_CMD_LIST: want = 5; break;
    case OSP_CMD_READ: want = 15; break;
    case OSP_CMD_COMMIT: want = 15; break;
    case OSP_CMD_START_STREAM: case OSP_CMD_START_LOG: want = 12; break;
    case OSP_CMD_CLOCK_SYNC: want = 11; break;
    case OSP_CMD_ABORT: case OSP_CMD_STOP_STREAM: case OSP_CMD_STOP_LOG: want = 3; break;
    default: return OSP_UNKNOWN_OPCODE;
    }
    if (len != want) {
        return OSP_INVALID_LENGTH;
    }
    switch (cmd->opcode) {
    case OSP_CMD_LIST:
        cmd->first = get_u16(in + 3);
        break;
    case OSP_CMD_READ:
        cmd->session_id = get_u32(in + 3);
        cmd->offset = get_u32(in + 7);
        cmd->length = get_u32(in + 11);
        break;
    case OSP_CMD_COMMIT:
        cmd->session_id = get_u32(in + 3);
        cmd->length = get_u32(in + 7);
        cmd->log_crc = get_u32(in + 11);
        break;
    case OSP_CMD_START_STREAM:
    case OSP_CMD_START_LOG:
        cmd->rate_mhz = get_u32(in + 3);
        cmd->channel_mask = in[7];
        cmd->acc_range_g = in[8];
        cmd->gyr_range_dps = get_u16(in + 9);
        cmd->max_samples = in[11];
        break;
    case OSP_CMD_CLOCK_SYNC:
        cmd->t1_us = get_u64(in + 3);
        break;
    default:
        break;
    }
    return OSP_OK;
}
