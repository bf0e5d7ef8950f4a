/*
 * imurehab Open Sensor Protocol (OSP) v1 -- reference encoder for device firmware, portable C99.
 *
 * What a sensor needs to speak OSP: CRC-32, DATA and DESCRIPTOR frames, log CHUNKs, END, RESPONSEs,
 * and a parser for the commands written to the control point. No allocation, no I/O, no globals
 * besides a const table; every encoder writes into a caller's buffer and returns the number of bytes
 * written, or 0 when the buffer is too small or a field is out of range. All integers are little-endian
 * on the wire whatever the CPU. The byte layouts are specified in firmware_protocols/osp/spec.md; the
 * numbers mirror firmware_protocols/osp/profile.toml. The imurehab test suite compiles this file and
 * checks it byte for byte against the Python implementation.
 *
 * License: Apache-2.0, like imurehab.
 */
#ifndef OSP_ENCODE_H
#define OSP_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define OSP_VERSION 1u

/* Message types (byte 1 of every message). */
#define OSP_DATA 0x01u
#define OSP_DESCRIPTOR 0x02u
#define OSP_CMD_LIST 0x10u
#define OSP_CMD_READ 0x11u
#define OSP_CMD_ABORT 0x12u
#define OSP_CMD_COMMIT 0x13u
#define OSP_CMD_START_STREAM 0x14u
#define OSP_CMD_STOP_STREAM 0x15u
#define OSP_CMD_START_LOG 0x16u
#define OSP_CMD_STOP_LOG 0x17u
#define OSP_CMD_CLOCK_SYNC 0x18u
#define OSP_RESPONSE 0x80u
#define OSP_END 0x81u
#define OSP_CHUNK 0x82u

/* Status codes (RESPONSE and END). */
#define OSP_OK 0u
#define OSP_UNSUPPORTED_VERSION 1u
#define OSP_UNKNOWN_OPCODE 2u
#define OSP_INVALID_LENGTH 3u
#define OSP_INVALID_PARAMETER 4u
#define OSP_UNKNOWN_SESSION 5u
#define OSP_OUT_OF_RANGE 6u
#define OSP_CRC_MISMATCH 7u
#define OSP_SESSION_OPEN 8u
#define OSP_BUSY 9u
#define OSP_INVALID_STATE 10u
#define OSP_STORAGE_FULL 11u
#define OSP_MTU_TOO_SMALL 12u
#define OSP_ABORTED 13u
#define OSP_INTERNAL_ERROR 255u

/* DATA frame flags. */
#define OSP_FLAG_GAP_BEFORE 0x01u
#define OSP_FLAG_ACC_SATURATED 0x02u
#define OSP_FLAG_GYR_SATURATED 0x04u
#define OSP_FLAG_MAG_SATURATED 0x08u
#define OSP_FLAG_LAST 0x10u

/* Channel mask bits: each present group is 3 int16 (x, y, z), in this order. */
#define OSP_CH_ACC 0x01u
#define OSP_CH_GYR 0x02u
#define OSP_CH_MAG 0x04u

/* Session states (LIST entry, END). */
#define OSP_STATE_CLOSED 0u
#define OSP_STATE_OPEN 1u
#define OSP_STATE_INTERRUPTED 2u

#define OSP_DATA_HEADER_BYTES 32u
#define OSP_CRC_BYTES 4u
#define OSP_DESCRIPTOR_FIXED_BYTES 36u
#define OSP_MAX_STRING_BYTES 32u
#define OSP_CHUNK_HEADER_BYTES 12u
#define OSP_LIST_ENTRY_BYTES 37u
#define OSP_MIN_ATT_MTU 64u
#define OSP_READ_TO_END 0xFFFFFFFFu

/* ---- CRC-32/ISO-HDLC: reflected, poly 0xEDB88320, init and xorout 0xFFFFFFFF (as zlib's crc32) ---- */

/* CRC of data; pass crc = 0 to start, or a previous result to continue over more bytes. */
uint32_t osp_crc32(const uint8_t *data, size_t len, uint32_t crc);

/* ---- frames ---- */

typedef struct {
    uint8_t stream_id;
    uint8_t flags;          /* OSP_FLAG_* */
    uint8_t n_samples;      /* 1..255 */
    uint8_t channel_mask;   /* OSP_CH_* */
    uint32_t session_id;    /* 0 when not logging */
    uint32_t seq;           /* +1 per frame of a stream / session */
    uint64_t first_index;   /* sample counter of the first sample */
    uint64_t first_time_us; /* device monotonic clock at the first sample [us since boot] */
} osp_data_header_t;

/* Bytes of a DATA frame: 32 + 2 * n_samples * channels + 4. */
size_t osp_data_frame_bytes(uint8_t n_samples, uint8_t channel_mask);

/* Most samples per DATA frame that fit one notification at this ATT MTU (0 if none). */
uint8_t osp_samples_per_frame(uint16_t att_mtu, uint8_t channel_mask);

/* One DATA frame; samples: n_samples * channels int16, sample-major (acc xyz, gyr xyz, mag xyz). */
size_t osp_encode_data_frame(uint8_t *out, size_t cap, const osp_data_header_t *h, const int16_t *samples);

typedef struct {
    uint8_t stream_id;
    uint8_t protocol_minor;
    uint8_t channel_mask;
    uint8_t acc_range_g;    /* +-g full scale */
    uint16_t gyr_range_dps; /* +-deg/s full scale */
    uint32_t rate_mhz;      /* nominal rate in mHz: 200 Hz = 200000 */
    float acc_scale;        /* m/s^2 per LSB, IEEE-754 binary32 */
    float gyr_scale;        /* rad/s per LSB */
    float mag_scale;        /* uT per LSB */
    uint32_t boot_id;       /* random, non-zero, new at every boot */
    uint32_t session_id;    /* session this descriptor opens (0: characteristic, not logging) */
    const char *imu_model;  /* UTF-8, <= 32 bytes each; NULL means "" */
    const char *serial;
    const char *firmware;
    const char *axis_frame;
} osp_descriptor_t;

/* The DESCRIPTOR frame (characteristic value, and first frame of each session log). */
size_t osp_encode_descriptor(uint8_t *out, size_t cap, const osp_descriptor_t *d);

/* ---- log transfer ---- */

/* A CHUNK notification: bytes [offset, offset + len) of a session log. */
size_t osp_encode_chunk(uint8_t *out, size_t cap, uint32_t session_id, uint32_t offset, const uint8_t *data,
                        uint16_t len);

typedef struct {
    uint8_t tag;         /* the READ's tag */
    uint8_t status;      /* OSP_OK or OSP_ABORTED or an error */
    uint32_t session_id;
    uint32_t offset;     /* first byte sent */
    uint32_t length;     /* bytes sent */
    uint32_t range_crc;  /* CRC-32 of the bytes sent */
    uint32_t log_length; /* durable log length now */
    uint32_t log_crc;    /* CRC-32 of the whole durable log */
    uint8_t state;       /* OSP_STATE_* */
} osp_end_t;

size_t osp_encode_end(uint8_t *out, size_t cap, const osp_end_t *e);

/* ---- responses ---- */

/* A RESPONSE head; for status != OK, or opcodes without a result, this is the whole response.
 * Append the result's fields (little-endian) after it for the others. */
size_t osp_encode_response_head(uint8_t *out, size_t cap, uint8_t opcode, uint8_t tag, uint8_t status);

typedef struct {
    uint32_t session_id;
    uint8_t state;
    uint32_t boot_id;
    uint32_t length;
    uint32_t log_crc;
    uint32_t n_samples;
    uint64_t first_index;
    uint64_t first_time_us;
} osp_session_entry_t;

/* RESPONSE to LIST: total sessions, index of the first entry here, and count entries. */
size_t osp_encode_list_response(uint8_t *out, size_t cap, uint8_t tag, uint16_t total, uint16_t first,
                                const osp_session_entry_t *entries, uint8_t count);

/* RESPONSE to CLOCK_SYNC: t1 echoed, t2 = receive time, t3 = send time [us since boot]. */
size_t osp_encode_clock_sync_response(uint8_t *out, size_t cap, uint8_t tag, uint64_t t1_us, uint64_t t2_us,
                                      uint64_t t3_us, uint32_t boot_id);

/* ---- commands (parsing what the host writes) ---- */

typedef struct {
    uint8_t opcode;
    uint8_t tag;
    uint16_t first;         /* LIST */
    uint32_t session_id;    /* READ, COMMIT */
    uint32_t offset;        /* READ */
    uint32_t length;        /* READ, COMMIT */
    uint32_t log_crc;       /* COMMIT */
    uint32_t rate_mhz;      /* START_STREAM, START_LOG (0 = keep) */
    uint8_t channel_mask;
    uint8_t acc_range_g;
    uint16_t gyr_range_dps;
    uint8_t max_samples;
    uint64_t t1_us;         /* CLOCK_SYNC */
} osp_command_t;

/* Parse a control-point write. Returns OSP_OK, OSP_UNSUPPORTED_VERSION, OSP_UNKNOWN_OPCODE or
 * OSP_INVALID_LENGTH: answer errors with osp_encode_response_head(opcode, tag, status). */
uint8_t osp_parse_command(const uint8_t *in, size_t len, osp_command_t *cmd);

#ifdef __cplusplus
}
#endif

#endif /* OSP_ENCODE_H */
