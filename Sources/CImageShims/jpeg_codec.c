// JPEG decode through the system libjpeg(-turbo), with its longjmp error path contained here.
#include "latte_image_shims.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

typedef struct {
    struct jpeg_error_mgr base;  // must be first: libjpeg hands us a pointer to it
    jmp_buf jump;
    int truncated;
    char message[LATTE_IMG_MESSAGE_SIZE];
} jpeg_error_state;

static void jpeg_fail(j_common_ptr cinfo) {
    jpeg_error_state *state = (jpeg_error_state *)cinfo->err;
    if (state->message[0] == 0) (*cinfo->err->format_message)(cinfo, state->message);
    longjmp(state->jump, 1);
}

// libjpeg only warns when the data ends early and pads the rest of the image with gray.
// A silently half-gray training image is worse than an error, so premature EOF fails;
// other corrupt-data warnings are tolerated, as PIL tolerates them.
static void jpeg_emit(j_common_ptr cinfo, int level) {
    if (level >= 0) return;  // trace messages
    if (cinfo->err->msg_code == JWRN_JPEG_EOF) {
        jpeg_error_state *state = (jpeg_error_state *)cinfo->err;
        state->truncated = 1;
        snprintf(state->message, sizeof(state->message), "file ends before the last scan is complete");
        longjmp(state->jump, 1);
    }
    cinfo->err->num_warnings++;
}

static void jpeg_quiet(j_common_ptr cinfo) { (void)cinfo; }

// A progressive file may hold any number of scans, each a pass over the whole coefficient buffer:
// a few KB of hostile data could keep us busy for minutes. Real encoders write about ten; libjpeg-turbo's
// own advice is to cap them with a progress monitor.
#define LATTE_JPEG_MAX_SCANS 1000

static void jpeg_limit_scans(j_common_ptr cinfo) {
    if (!cinfo->is_decompressor) return;
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (d->input_scan_number > LATTE_JPEG_MAX_SCANS) {
        jpeg_error_state *state = (jpeg_error_state *)cinfo->err;
        snprintf(state->message, sizeof(state->message), "more than %d progressive scans", LATTE_JPEG_MAX_SCANS);
        longjmp(state->jump, 1);
    }
}

latte_img_status latte_jpeg_decode(const uint8_t *data, size_t size, latte_img_limits limits,
                                   latte_img_decoded *out) {
    memset(out, 0, sizeof(*out));
    if (size < 3 || data[0] != 0xFF || data[1] != 0xD8 || data[2] != 0xFF) {
        snprintf(out->message, sizeof(out->message), "missing the JPEG start-of-image marker");
        return size < 3 ? LATTE_IMG_TRUNCATED : LATTE_IMG_CORRUPT;
    }
    struct jpeg_decompress_struct cinfo;
    jpeg_error_state err;
    memset(&err, 0, sizeof(err));
    cinfo.err = jpeg_std_error(&err.base);
    err.base.error_exit = jpeg_fail;
    err.base.emit_message = jpeg_emit;
    err.base.output_message = jpeg_quiet;
    uint8_t *volatile pixels = NULL;
    uint8_t *volatile cmyk_row = NULL;
    volatile latte_img_status status = LATTE_IMG_CORRUPT;

    jpeg_create_decompress(&cinfo);
    struct jpeg_progress_mgr progress;
    memset(&progress, 0, sizeof(progress));
    progress.progress_monitor = jpeg_limit_scans;
    cinfo.progress = &progress;
    if (setjmp(err.jump)) {
        if (status == LATTE_IMG_CORRUPT && err.truncated) status = LATTE_IMG_TRUNCATED;
        // libjpeg reports running out of input in the headers as an error, not a warning.
        if (status == LATTE_IMG_CORRUPT && err.base.msg_code == JERR_INPUT_EOF) status = LATTE_IMG_TRUNCATED;
        if (status == LATTE_IMG_CORRUPT && err.base.msg_code == JERR_IMAGE_TOO_BIG) status = LATTE_IMG_TOO_LARGE;
        snprintf(out->message, sizeof(out->message), "%s", err.message);
        free(cmyk_row);
        free(pixels);
        jpeg_destroy_decompress(&cinfo);
        return status;
    }
    jpeg_mem_src(&cinfo, (const unsigned char *)data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);

    uint32_t width = cinfo.image_width, height = cinfo.image_height;
    if (width == 0 || height == 0 || width > limits.max_dimension || height > limits.max_dimension ||
        (uint64_t)width * height > limits.max_pixels) {
        snprintf(err.message, sizeof(err.message), "image is %ux%u, above the limit of %u per side and %llu pixels",
                 (unsigned)width, (unsigned)height, (unsigned)limits.max_dimension, (unsigned long long)limits.max_pixels);
        status = LATTE_IMG_TOO_LARGE;
        longjmp(err.jump, 1);
    }
    out->source_color_type = (int32_t)cinfo.jpeg_color_space;
    out->interlaced = cinfo.progressive_mode ? 1 : 0;
    int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    if (cmyk) cinfo.out_color_space = JCS_CMYK;  // libjpeg turns YCCK into CMYK; RGB is done below
    else if (cinfo.jpeg_color_space == JCS_GRAYSCALE) cinfo.out_color_space = JCS_GRAYSCALE;
    else cinfo.out_color_space = JCS_RGB;
    jpeg_start_decompress(&cinfo);

    int channels = cmyk ? 3 : cinfo.output_components;
    if (channels != 1 && channels != 3) {
        snprintf(err.message, sizeof(err.message), "unsupported JPEG with %d components", cinfo.output_components);
        status = LATTE_IMG_UNSUPPORTED;
        longjmp(err.jump, 1);
    }
    size_t rowbytes = (size_t)width * (size_t)channels;
    pixels = (uint8_t *)malloc(rowbytes * height);
    if (cmyk) cmyk_row = (uint8_t *)malloc((size_t)width * 4);
    if (!pixels || (cmyk && !cmyk_row)) {
        snprintf(err.message, sizeof(err.message), "out of memory for the pixel buffer");
        status = LATTE_IMG_NO_MEMORY;
        longjmp(err.jump, 1);
    }
    // Photoshop (Adobe APP14) writes CMYK inverted; with the marker present, samples are 255 - ink.
    int inverted = cinfo.saw_Adobe_marker;
    while (cinfo.output_scanline < cinfo.output_height) {
        uint8_t *row = pixels + (size_t)cinfo.output_scanline * rowbytes;
        if (!cmyk) {
            JSAMPROW rows[1] = {row};
            jpeg_read_scanlines(&cinfo, rows, 1);
            continue;
        }
        JSAMPROW rows[1] = {cmyk_row};
        jpeg_read_scanlines(&cinfo, rows, 1);
        for (uint32_t x = 0; x < width; x++) {
            const uint8_t *s = cmyk_row + 4 * x;
            // Naive CMYK -> RGB: R = (1 - C)(1 - K), with rounding; no ICC profile is applied.
            unsigned k = inverted ? s[3] : 255u - s[3];
            for (int c = 0; c < 3; c++) {
                unsigned v = inverted ? s[c] : 255u - s[c];
                row[3 * x + c] = (uint8_t)((v * k + 127) / 255);
            }
        }
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(cmyk_row);
    out->width = (int32_t)width;
    out->height = (int32_t)height;
    out->channels = channels;
    out->bit_depth = 8;
    out->pixels = pixels;
    return LATTE_IMG_OK;
}
