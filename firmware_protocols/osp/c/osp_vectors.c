/*
 * Test driver for the OSP reference encoder: reads one request per line on stdin, prints one line of
 * lowercase hex (or a decimal / field list) per request on stdout, "ERR" when the encoder refuses.
 * The imurehab tests feed it many inputs and compare each line with the Python implementation.
 *
 *   crc HEX                                     -> CRC-32 as 8 hex digits
 *   spf ATT_MTU MASK                            -> samples per frame (decimal)
 *   data STREAM FLAGS N MASK SESSION SEQ INDEX TIME_US V...   -> DATA frame
 *   desc STREAM MINOR MASK ACC_G GYR_DPS RATE_MHZ ACC_BITS GYR_BITS MAG_BITS BOOT SESSION S1 S2 S3 S4
 *                                               -> DESCRIPTOR frame (floats as u32 bit patterns,
 *                                                  strings as hex, "-" for empty)
 *   chunk SESSION OFFSET HEX                    -> CHUNK ("-" for no data)
 *   end TAG STATUS SESSION OFFSET LENGTH RANGE_CRC LOG_LENGTH LOG_CRC STATE -> END
 *   resp OPCODE TAG STATUS                      -> RESPONSE head
 *   list TAG TOTAL FIRST COUNT {SESSION STATE BOOT LENGTH CRC N INDEX TIME_US}*COUNT -> LIST RESPONSE
 *   clock TAG T1 T2 T3 BOOT                     -> CLOCK_SYNC RESPONSE
 *   cmd HEX                                     -> "STATUS OPCODE TAG FIRST SESSION OFFSET LENGTH LOG_CRC
 *                                                   RATE MASK ACC_G GYR_DPS MAX_SAMPLES T1" (decimal)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "osp_encode.h"

#define LINE_MAX_BYTES 65536
#define OUT_MAX_BYTES 8192

static char line[LINE_MAX_BYTES];
static uint8_t out[OUT_MAX_BYTES];
static uint8_t bin[OUT_MAX_BYTES];
static int16_t samples[255 * 9];
static char text[4][OSP_MAX_STRING_BYTES + 1];

static unsigned long long num(void)
{
    const char *tok = strtok(NULL, " \t\r\n");
    return tok == NULL ? 0ULL : strtoull(tok, NULL, 0);
}

static long long snum(void)
{
    const char *tok = strtok(NULL, " \t\r\n");
    return tok == NULL ? 0LL : strtoll(tok, NULL, 0);
}

/* Hex token -> bytes in buf; "-" is empty. Returns the length, or -1 if malformed. */
static long unhex(const char *tok, uint8_t *buf, size_t cap)
{
    size_t n, i;
    if (tok == NULL || strcmp(tok, "-") == 0) {
        return 0;
    }
    n = strlen(tok);
    if (n % 2 != 0 || n / 2 > cap) {
        return -1;
    }
    for (i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(tok + 2 * i, "%2x", &v) != 1) {
            return -1;
        }
        buf[i] = (uint8_t)v;
    }
    return (long)(n / 2);
}

static void print_hex(size_t n)
{
    size_t i;
    if (n == 0) {
        puts("ERR");
        return;
    }
    for (i = 0; i < n; i++) {
        printf("%02x", out[i]);
    }
    putchar('\n');
}

static float f32(unsigned long long bits)
{
    uint32_t b = (uint32_t)bits;
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

static void do_data(void)
{
    osp_data_header_t h;
    size_t k, values;
    h.stream_id = (uint8_t)num();
    h.flags = (uint8_t)num();
    h.n_samples = (uint8_t)num();
    h.channel_mask = (uint8_t)num();
    h.session_id = (uint32_t)num();
    h.seq = (uint32_t)num();
    h.first_index = num();
    h.first_time_us = num();
    values = (osp_data_frame_bytes(h.n_samples, h.channel_mask) - OSP_DATA_HEADER_BYTES - OSP_CRC_BYTES) / 2u;
    for (k = 0; k < values; k++) {
        samples[k] = (int16_t)snum();
    }
    print_hex(osp_encode_data_frame(out, sizeof out, &h, samples));
}

static void do_desc(void)
{
    osp_descriptor_t d;
    int i;
    d.stream_id = (uint8_t)num();
    d.protocol_minor = (uint8_t)num();
    d.channel_mask = (uint8_t)num();
    d.acc_range_g = (uint8_t)num();
    d.gyr_range_dps = (uint16_t)num();
    d.rate_mhz = (uint32_t)num();
    d.acc_scale = f32(num());
    d.gyr_scale = f32(num());
    d.mag_scale = f32(num());
    d.boot_id = (uint32_t)num();
    d.session_id = (uint32_t)num();
    for (i = 0; i < 4; i++) {
        long n = unhex(strtok(NULL, " \t\r\n"), (uint8_t *)text[i], OSP_MAX_STRING_BYTES);
        if (n < 0) {
            puts("ERR");
            return;
        }
        text[i][n] = '\0';
    }
    d.imu_model = text[0];
    d.serial = text[1];
    d.firmware = text[2];
    d.axis_frame = text[3];
    print_hex(osp_encode_descriptor(out, sizeof out, &d));
}

static void do_chunk(void)
{
    uint32_t session = (uint32_t)num();
    uint32_t offset = (uint32_t)num();
    long n = unhex(strtok(NULL, " \t\r\n"), bin, sizeof bin);
    if (n < 0) {
        puts("ERR");
        return;
    }
    print_hex(osp_encode_chunk(out, sizeof out, session, offset, bin, (uint16_t)n));
}

static void do_end(void)
{
    osp_end_t e;
    e.tag = (uint8_t)num();
    e.status = (uint8_t)num();
    e.session_id = (uint32_t)num();
    e.offset = (uint32_t)num();
    e.length = (uint32_t)num();
    e.range_crc = (uint32_t)num();
    e.log_length = (uint32_t)num();
    e.log_crc = (uint32_t)num();
    e.state = (uint8_t)num();
    print_hex(osp_encode_end(out, sizeof out, &e));
}

static void do_list(void)
{
    osp_session_entry_t entries[8];
    uint8_t tag = (uint8_t)num();
    uint16_t total = (uint16_t)num();
    uint16_t first = (uint16_t)num();
    unsigned count = (unsigned)num(), i;
    if (count > 8) {
        puts("ERR");
        return;
    }
    for (i = 0; i < count; i++) {
        entries[i].session_id = (uint32_t)num();
        entries[i].state = (uint8_t)num();
        entries[i].boot_id = (uint32_t)num();
        entries[i].length = (uint32_t)num();
        entries[i].log_crc = (uint32_t)num();
        entries[i].n_samples = (uint32_t)num();
        entries[i].first_index = num();
        entries[i].first_time_us = num();
    }
    print_hex(osp_encode_list_response(out, sizeof out, tag, total, first, entries, (uint8_t)count));
}

static void do_cmd(void)
{
    osp_command_t c;
    long n = unhex(strtok(NULL, " \t\r\n"), bin, sizeof bin);
    uint8_t status;
    if (n < 0) {
        puts("ERR");
        return;
    }
    status = osp_parse_command(bin, (size_t)n, &c);
    printf("%u %u %u %u %lu %lu %lu %lu %lu %u %u %u %u %llu\n", status, c.opcode, c.tag, c.first,
           (unsigned long)c.session_id, (unsigned long)c.offset, (unsigned long)c.length,
           (unsigned long)c.log_crc, (unsigned long)c.rate_mhz, c.channel_mask, c.acc_range_g,
           c.gyr_range_dps, c.max_samples, (unsigned long long)c.t1_us);
}

int main(void)
{
    while (fgets(line, sizeof line, stdin) != NULL) {
        const char *op = strtok(line, " \t\r\n");
        if (op == NULL) {
            continue;
        }
        if (strcmp(op, "crc") == 0) {
            long n = unhex(strtok(NULL, " \t\r\n"), bin, sizeof bin);
            printf("%08lx\n", n < 0 ? 0UL : (unsigned long)osp_crc32(bin, (size_t)n, 0));
        } else if (strcmp(op, "spf") == 0) {
            uint16_t mtu = (uint16_t)num();
            printf("%u\n", osp_samples_per_frame(mtu, (uint8_t)num()));
        } else if (strcmp(op, "data") == 0) {
            do_data();
        } else if (strcmp(op, "desc") == 0) {
            do_desc();
        } else if (strcmp(op, "chunk") == 0) {
            do_chunk();
        } else if (strcmp(op, "end") == 0) {
            do_end();
        } else if (strcmp(op, "resp") == 0) {
            uint8_t opcode = (uint8_t)num(), tag = (uint8_t)num();
            print_hex(osp_encode_response_head(out, sizeof out, opcode, tag, (uint8_t)num()));
        } else if (strcmp(op, "list") == 0) {
            do_list();
        } else if (strcmp(op, "clock") == 0) {
            uint8_t tag = (uint8_t)num();
            unsigned long long t1 = num(), t2 = num(), t3 = num();
            print_hex(osp_encode_clock_sync_response(out, sizeof out, tag, t1, t2, t3, (uint32_t)num()));
        } else if (strcmp(op, "cmd") == 0) {
            do_cmd();
        } else {
            puts("ERR");
        }
        fflush(stdout);
    }
    return 0;
}
