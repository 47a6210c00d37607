// C side of LatteFormats' image and gzip I/O.
//
// libpng and libjpeg report fatal errors by longjmp. A longjmp across Swift frames is undefined
// behaviour, so every call into those libraries happens here, inside a C function that owns the
// setjmp; Swift only ever sees a status code and a message.
#ifndef LATTE_IMAGE_SHIMS_H
#define LATTE_IMAGE_SHIMS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LATTE_IMG_MESSAGE_SIZE 256

typedef enum {
    LATTE_IMG_OK = 0,
    LATTE_IMG_CORRUPT = 1,      // the codec rejected the data
    LATTE_IMG_TRUNCATED = 2,    // the data ended early
    LATTE_IMG_TOO_LARGE = 3,    // dimensions or pixel count above the caller's limits
    LATTE_IMG_UNSUPPORTED = 4,  // valid but a layout we do not decode
    LATTE_IMG_NO_MEMORY = 5,
} latte_img_status;

/// A decoded image: interleaved (HWC) samples, 1 byte each when bit_depth == 8 and
/// host-endian uint16 when bit_depth == 16. `pixels` is malloc'd; free it with latte_img_free.
typedef struct {
    int32_t width;
    int32_t height;
    int32_t channels;
    int32_t bit_depth;
    int32_t source_color_type;  // PNG colour type or JPEG colour space of the file, for diagnostics
    int32_t interlaced;         // 1 for Adam7 PNG or progressive JPEG
    uint8_t *pixels;
    char message[LATTE_IMG_MESSAGE_SIZE];
} latte_img_decoded;

typedef struct {
    uint32_t max_dimension;  // largest width or height accepted
    uint64_t max_pixels;     // largest width * height accepted
} latte_img_limits;

/// Decodes a PNG held in memory. keep16 != 0 keeps 16-bit samples of 16-bit files; otherwise
/// everything is reduced to 8 bits. Palette, low-bit gray and tRNS are expanded (tRNS becomes alpha).
latte_img_status latte_png_decode(const uint8_t *data, size_t size, int keep16,
                                  latte_img_limits limits, latte_img_decoded *out);

/// Encodes interleaved samples (channels 1-4, bit_depth 8 or host-endian 16) as a PNG.
/// On success *out_data is malloc'd (free with latte_img_free).
latte_img_status latte_png_encode(const uint8_t *pixels, int32_t width, int32_t height,
                                  int32_t channels, int32_t bit_depth, int32_t compression_level,
                                  uint8_t **out_data, size_t *out_size, char *message);

/// Decodes a JPEG held in memory to 8-bit gray (1 channel) or RGB (3 channels). CMYK and YCCK
/// files are converted to RGB. A file that ends before its last scan is an error.
latte_img_status latte_jpeg_decode(const uint8_t *data, size_t size, latte_img_limits limits,
                                   latte_img_decoded *out);

/// Inflates a gzip (or zlib) stream, concatenated gzip members included. Fails rather than
/// producing more than max_output bytes.
latte_img_status latte_gunzip(const uint8_t *data, size_t size, size_t max_output,
                              uint8_t **out_data, size_t *out_size, char *message);

void latte_img_free(void *pointer);

#ifdef __cplusplus
}
#endif

#endif
