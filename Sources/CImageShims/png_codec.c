// PNG decode/encode through the system libpng, with libpng's longjmp error path contained here.
#include "latte_image_shims.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const uint8_t *data;
    size_t size;
    size_t offset;
    int truncated;              // set when libpng asked for bytes past the end
    char message[LATTE_IMG_MESSAGE_SIZE];
} png_reader_state;

static void copy_message(char *dst, const char *src) {
    if (!dst) return;
    snprintf(dst, LATTE_IMG_MESSAGE_SIZE, "%s", src ? src : "unknown error");
}

static void png_error_to_message(png_structp png, png_const_charp text) {
    png_reader_state *state = (png_reader_state *)png_get_error_ptr(png);
    if (state && state->message[0] == 0) copy_message(state->message, text);
    png_longjmp(png, 1);
}

// libpng warnings (bad gamma chunks, unknown profiles) are not failures; PIL ignores them too.
static void png_ignore_warning(png_structp png, png_const_charp text) {
    (void)png;
    (void)text;
}

static void png_read_from_memory(png_structp png, png_bytep out, png_size_t length) {
    png_reader_state *state = (png_reader_state *)png_get_io_ptr(png);
    if (length > state->size - state->offset) {
        state->truncated = 1;
        png_error(png, "file ends before the image data is complete");
    }
    memcpy(out, state->data + state->offset, length);
    state->offset += length;
}

latte_img_status latte_png_decode(const uint8_t *data, size_t size, int keep16,
                                  latte_img_limits limits, latte_img_decoded *out) {
    memset(out, 0, sizeof(*out));
    if (size < 8 || png_sig_cmp((png_const_bytep)data, 0, 8) != 0) {
        copy_message(out->message, size < 8 ? "file shorter than the PNG signature" : "missing PNG signature");
        return size < 8 ? LATTE_IMG_TRUNCATED : LATTE_IMG_CORRUPT;
    }
    // Check IHDR's declared size ourselves first: libpng's own limit check only says "Invalid IHDR data".
    if (size >= 24 && memcmp(data + 12, "IHDR", 4) == 0) {
        uint32_t w = (uint32_t)data[16] << 24 | (uint32_t)data[17] << 16 | (uint32_t)data[18] << 8 | data[19];
        uint32_t h = (uint32_t)data[20] << 24 | (uint32_t)data[21] << 16 | (uint32_t)data[22] << 8 | data[23];
        if (w > limits.max_dimension || h > limits.max_dimension || (uint64_t)w * h > limits.max_pixels) {
            snprintf(out->message, sizeof(out->message), "image is %ux%u, above the limit of %u per side and %llu pixels",
                     (unsigned)w, (unsigned)h, (unsigned)limits.max_dimension, (unsigned long long)limits.max_pixels);
            return LATTE_IMG_TOO_LARGE;
        }
    }
    png_reader_state state;
    memset(&state, 0, sizeof(state));
    state.data = data;
    state.size = size;

    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &state, png_error_to_message, png_ignore_warning);
    if (!png) {
        copy_message(out->message, "libpng could not allocate its state");
        return LATTE_IMG_NO_MEMORY;
    }
    png_infop info = png_create_info_struct(png);
    // Everything allocated after setjmp lives in volatile locals so the error path can free it.
    uint8_t *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    volatile latte_img_status status = LATTE_IMG_CORRUPT;
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        copy_message(out->message, "libpng could not allocate its state");
        return LATTE_IMG_NO_MEMORY;
    }
    if (setjmp(png_jmpbuf(png))) {
        if (status != LATTE_IMG_TOO_LARGE && status != LATTE_IMG_NO_MEMORY)
            status = state.truncated ? LATTE_IMG_TRUNCATED : LATTE_IMG_CORRUPT;
        copy_message(out->message, state.message);
        free(rows);
        free(pixels);
        png_destroy_read_struct(&png, &info, NULL);
        return status;
    }
    png_set_read_fn(png, &state, png_read_from_memory);
    // libpng's own cap applies while it parses IHDR, before any row buffer exists.
    png_set_user_limits(png, limits.max_dimension, limits.max_dimension);
    // Bounds ancillary chunks (iCCP, zTXt, ...) so a hostile file cannot ask for huge buffers.
    png_set_chunk_malloc_max(png, 64u << 20);
    png_read_info(png, info);

    png_uint_32 width = 0, height = 0;
    int bit_depth = 0, color_type = 0, interlace = 0;
    png_get_IHDR(png, info, &width, &height, &bit_depth, &color_type, &interlace, NULL, NULL);
    if (width == 0 || height == 0 || width > limits.max_dimension || height > limits.max_dimension ||
        (uint64_t)width * (uint64_t)height > limits.max_pixels) {
        snprintf(state.message, sizeof(state.message),
                 "image is %ux%u, above the limit of %u per side and %llu pixels",
                 (unsigned)width, (unsigned)height, (unsigned)limits.max_dimension,
                 (unsigned long long)limits.max_pixels);
        status = LATTE_IMG_TOO_LARGE;
        png_longjmp(png, 1);
    }
    out->source_color_type = color_type;
    out->interlaced = interlace != PNG_INTERLACE_NONE;

    // Palette -> RGB, gray < 8 bits -> 8 bits, tRNS -> alpha channel.
    png_set_expand(png);
    if (bit_depth == 16) {
        if (keep16) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            png_set_swap(png);  // PNG stores big-endian; callers get host-order uint16
#endif
        } else {
            // Rounds to the nearest 8-bit value (v * 255 / 65535); dropping the low byte, as
            // png_set_strip_16 does, would bias every sample down by up to one level.
            png_set_scale_16(png);
        }
    }
    int passes = png_set_interlace_handling(png);
    (void)passes;
    png_read_update_info(png, info);

    int channels = png_get_channels(png, info);
    int out_depth = png_get_bit_depth(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    size_t expected_rowbytes = (size_t)width * (size_t)channels * (size_t)(out_depth / 8);
    if (channels < 1 || channels > 4 || (out_depth != 8 && out_depth != 16) || rowbytes != expected_rowbytes) {
        snprintf(state.message, sizeof(state.message), "unexpected decoded layout (%d channels, %d bits)", channels, out_depth);
        status = LATTE_IMG_UNSUPPORTED;
        png_longjmp(png, 1);
    }
    pixels = (uint8_t *)malloc(rowbytes * (size_t)height);
    rows = (png_bytep *)malloc(sizeof(png_bytep) * (size_t)height);
    if (!pixels || !rows) {
        copy_message(state.message, "out of memory for the pixel buffer");
        status = LATTE_IMG_NO_MEMORY;
        png_longjmp(png, 1);
    }
    for (png_uint_32 y = 0; y < height; y++) rows[y] = pixels + (size_t)y * rowbytes;
    png_read_image(png, rows);
    // Reading to IEND verifies the trailing chunks' CRCs and catches files cut after the image data.
    png_read_end(png, NULL);

    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    out->width = (int32_t)width;
    out->height = (int32_t)height;
    out->channels = channels;
    out->bit_depth = out_depth;
    out->pixels = pixels;
    return LATTE_IMG_OK;
}

typedef struct {
    uint8_t *data;
    size_t size;
    size_t capacity;
    int failed;
    char message[LATTE_IMG_MESSAGE_SIZE];
} png_writer_state;

static void png_write_error(png_structp png, png_const_charp text) {
    png_writer_state *state = (png_writer_state *)png_get_error_ptr(png);
    if (state && state->message[0] == 0) copy_message(state->message, text);
    png_longjmp(png, 1);
}

static void png_write_to_memory(png_structp png, png_bytep in, png_size_t length) {
    png_writer_state *state = (png_writer_state *)png_get_io_ptr(png);
    if (state->size + length > state->capacity) {
        size_t capacity = state->capacity ? state->capacity : 4096;
        while (capacity < state->size + length) capacity *= 2;
        uint8_t *grown = (uint8_t *)realloc(state->data, capacity);
        if (!grown) {
            state->failed = 1;
            png_error(png, "out of memory for the encoded PNG");
        }
        state->data = grown;
        state->capacity = capacity;
    }
    memcpy(state->data + state->size, in, length);
    state->size += length;
}

static void png_flush_nothing(png_structp png) { (void)png; }

latte_img_status latte_png_encode(const uint8_t *pixels, int32_t width, int32_t height,
                                  int32_t channels, int32_t bit_depth, int32_t compression_level,
                                  uint8_t **out_data, size_t *out_size, char *message) {
    *out_data = NULL;
    *out_size = 0;
    static const int color_types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGBA};
    if (width <= 0 || height <= 0 || channels < 1 || channels > 4 || (bit_depth != 8 && bit_depth != 16)) {
        copy_message(message, "PNG encode needs positive dimensions, 1-4 channels and 8 or 16 bits");
        return LATTE_IMG_UNSUPPORTED;
    }
    png_writer_state state;
    memset(&state, 0, sizeof(state));
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &state, png_write_error, png_ignore_warning);
    if (!png) {
        copy_message(message, "libpng could not allocate its state");
        return LATTE_IMG_NO_MEMORY;
    }
    png_infop info = png_create_info_struct(png);
    png_bytep *volatile rows = NULL;
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        copy_message(message, "libpng could not allocate its state");
        return LATTE_IMG_NO_MEMORY;
    }
    if (setjmp(png_jmpbuf(png))) {
        copy_message(message, state.message);
        free(rows);
        free(state.data);
        png_destroy_write_struct(&png, &info);
        return state.failed ? LATTE_IMG_NO_MEMORY : LATTE_IMG_CORRUPT;
    }
    png_set_write_fn(png, &state, png_write_to_memory, png_flush_nothing);
    png_set_compression_level(png, compression_level < 0 ? 6 : compression_level);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, bit_depth, color_types[channels],
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (bit_depth == 16) png_set_swap(png);
#endif
    size_t rowbytes = (size_t)width * (size_t)channels * (size_t)(bit_depth / 8);
    rows = (png_bytep *)malloc(sizeof(png_bytep) * (size_t)height);
    if (!rows) {
        state.failed = 1;
        png_error(png, "out of memory for row pointers");
    }
    for (int32_t y = 0; y < height; y++) rows[y] = (png_bytep)(pixels + (size_t)y * rowbytes);
    png_write_image(png, rows);
    png_write_end(png, NULL);
    free(rows);
    png_destroy_write_struct(&png, &info);
    *out_data = state.data;
    *out_size = state.size;
    return LATTE_IMG_OK;
}

void latte_img_free(void *pointer) { free(pointer); }
