// Portable one-lane primitives for the kernel templates: plain C that builds on any target
// (arm64 included); the compiler may still auto-vectorise the loops for the baseline ISA.
#include <stdint.h>
#include <string.h>
#include <math.h>

#define VW 1
#define VM_SUFFIX generic
typedef float V;
typedef uint32_t VI;
typedef int M;

static inline V vset1(float a) { return a; }
static inline V vzero(void) { return 0.0f; }
static inline V vload(const float *p) { return *p; }
static inline void vstore(float *p, V v) { *p = v; }
static inline V vload_part(const float *p, long n, float fill) { (void)n; (void)fill; return *p; }
static inline void vstore_part(float *p, V v, long n) { (void)n; *p = v; }
static inline V vadd(V a, V b) { return a + b; }
static inline V vsub(V a, V b) { return a - b; }
static inline V vmul(V a, V b) { return a * b; }
static inline V vdiv(V a, V b) { return a / b; }
static inline V vrecip(V d) { return 1.0f / d; }
static inline V vsqrt(V a) { return sqrtf(a); }
static inline V vfma(V a, V b, V c) { return a * b + c; }
static inline V vfnma(V a, V b, V c) { return c - a * b; }
// Same NaN rule as x86 min/max: a NaN in either input returns the second operand.
static inline V vmin(V a, V b) { return a < b ? a : b; }
static inline V vmax(V a, V b) { return a > b ? a : b; }
static inline VI vasi(V a) { VI r; memcpy(&r, &a, 4); return r; }
static inline V vasf(VI a) { V r; memcpy(&r, &a, 4); return r; }
static inline V vabs(V a) { return vasf(vasi(a) & 0x7fffffffu); }
static inline V vand(V a, V b) { return vasf(vasi(a) & vasi(b)); }
static inline V vor(V a, V b) { return vasf(vasi(a) | vasi(b)); }
// Round to nearest even without libm (valid for |a| < 2^22, which is all the callers need).
// Adding 1.5·2^23 pushes the fraction bits out; C without fast-math keeps the two operations.
static inline V vround(V a) { return (a + 12582912.0f) - 12582912.0f; }
static inline M vlt(V a, V b) { return a < b; }
static inline M vge(V a, V b) { return a >= b; }
static inline M veq(V a, V b) { return a == b; }
static inline M visnan(V a) { return a != a; }
static inline V vsel(M m, V a, V b) { return m ? a : b; }
static inline VI viset1(int32_t a) { return (VI)a; }
static inline VI viand(VI a, VI b) { return a & b; }
static inline VI vior(VI a, VI b) { return a | b; }
static inline VI visub(VI a, VI b) { return a - b; }
static inline VI vsrl23(VI a) { return a >> 23; }
static inline V vcvti(VI a) { return (float)(int32_t)a; }
static inline V vscale2(V p, V n) {
    if (n != n) return p + n;  // NaN: converting it to int would be undefined
    int32_t ni = (int32_t)n, n1 = ni >> 1, n2 = ni - n1;
    return p * vasf((VI)(n1 + 127) << 23) * vasf((VI)(n2 + 127) << 23);
}
static inline float vhsum(V a) { return a; }
static inline float vhmax(V a) { return a; }
