#ifndef LATTE_VECMATH_H
#define LATTE_VECMATH_H
// Vector math kernels (filled in by the vector-math work).
#endif
