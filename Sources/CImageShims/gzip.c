// gzip / zlib inflate through the system zlib, used for the .gz dataset files.
#include "latte_image_shims.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

latte_img_status latte_gunzip(const uint8_t *data, size_t size, size_t max_output,
                              uint8_t **out_data, size_t *out_size, char *message) {
    *out_data = NULL;
    *out_size = 0;
    z_stream stream;
    memset(&stream, 0, sizeof(stream));
    // 32 + MAX_WBITS: detect gzip or zlib headers automatically.
    if (inflateInit2(&stream, 32 + MAX_WBITS) != Z_OK) {
        snprintf(message, LATTE_IMG_MESSAGE_SIZE, "zlib could not initialise");
        return LATTE_IMG_NO_MEMORY;
    }
    size_t capacity = size * 4 + 1024;
    if (capacity > max_output) capacity = max_output > 0 ? max_output : 1;
    uint8_t *buffer = (uint8_t *)malloc(capacity);
    size_t produced = 0;
    size_t consumed = 0;
    latte_img_status status = LATTE_IMG_OK;
    if (!buffer) {
        inflateEnd(&stream);
        snprintf(message, LATTE_IMG_MESSAGE_SIZE, "out of memory");
        return LATTE_IMG_NO_MEMORY;
    }
    for (;;) {
        if (produced == capacity) {
            if (capacity >= max_output) {
                snprintf(message, LATTE_IMG_MESSAGE_SIZE, "decompressed data exceeds the limit of %zu bytes", max_output);
                status = LATTE_IMG_TOO_LARGE;
                break;
            }
            size_t grown_capacity = capacity * 2 > max_output ? max_output : capacity * 2;
            uint8_t *grown = (uint8_t *)realloc(buffer, grown_capacity);
            if (!grown) {
                snprintf(message, LATTE_IMG_MESSAGE_SIZE, "out of memory");
                status = LATTE_IMG_NO_MEMORY;
                break;
            }
            buffer = grown;
            capacity = grown_capacity;
        }
        // zlib counts in uInt; feed it in chunks so sizes above 4 GiB stay correct.
        size_t in_chunk = size - consumed > (1u << 30) ? (1u << 30) : size - consumed;
        size_t out_chunk = capacity - produced > (1u << 30) ? (1u << 30) : capacity - produced;
        stream.next_in = (Bytef *)(data + consumed);
        stream.avail_in = (uInt)in_chunk;
        stream.next_out = buffer + produced;
        stream.avail_out = (uInt)out_chunk;
        int rc = inflate(&stream, Z_NO_FLUSH);
        consumed += in_chunk - stream.avail_in;
        produced += out_chunk - stream.avail_out;
        if (rc == Z_STREAM_END) {
            // Concatenated gzip members are legal (`cat a.gz b.gz`); skip zero padding at the end.
            while (consumed < size && data[consumed] == 0) consumed++;
            if (consumed >= size) break;
            if (inflateReset(&stream) != Z_OK) {
                snprintf(message, LATTE_IMG_MESSAGE_SIZE, "zlib could not restart for the next gzip member");
                status = LATTE_IMG_CORRUPT;
                break;
            }
            continue;
        }
        if (rc == Z_OK) continue;
        if (rc == Z_BUF_ERROR) {
            if (stream.avail_out == 0) continue;  // only needs more room
            snprintf(message, LATTE_IMG_MESSAGE_SIZE, "compressed stream ends early (truncated file)");
            status = LATTE_IMG_TRUNCATED;
            break;
        }
        snprintf(message, LATTE_IMG_MESSAGE_SIZE, "corrupt compressed data: %s", stream.msg ? stream.msg : "inflate failed");
        status = LATTE_IMG_CORRUPT;
        break;
    }
    inflateEnd(&stream);
    if (status != LATTE_IMG_OK) {
        free(buffer);
        return status;
    }
    *out_data = buffer;
    *out_size = produced;
    return LATTE_IMG_OK;
}
