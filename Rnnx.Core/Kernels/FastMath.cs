using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using Rnnx.Simd;

namespace Rnnx.Kernels;

/// <summary>
/// Vectorized float exp, sigmoid and tanh for the fused recurrent kernels, written once over
/// <see cref="ISimdMath{TSelf, T}"/> and therefore identical lane by lane at every width (the scalar instantiation
/// performs the same IEEE operations, with FMA exactly when the vector ones use it).
/// exp: Cody-Waite reduction x = n ln2 + r and the degree-7 Cephes expf polynomial (about 1 ulp); sigmoid =
/// 1 / (1 + exp(-x)) (at most about 2.5 ulp). tanh: the 13/6 rational approximation TF's CPU kernels use (Eigen's
/// generic_fast_tanh_float: clamp to ±7.9988, tanh(x) = x below 4e-4; a few ulp). The clamps are IEEE min/max, so
/// NaN propagates (a diverging model shows NaN, as with the library functions); the float-to-int conversion is the
/// native one (its argument is in range, or the result is NaN anyway).
/// </summary>
internal static class FastMath
{
    private const float ExpLo = -87.3365478515625f;   // ln(2^-126): keeps 2^n normal
    private const float ExpHi = 88.3762626647949f;    // 127.5 ln 2: keeps 2^n finite
    private const float Log2E = 1.44269504088896341f;
    private const float Ln2Hi = 0.693359375f;
    private const float Ln2Lo = -2.12194440e-4f;
    private const float E0 = 1.9875691500e-4f, E1 = 1.3981999507e-3f, E2 = 8.3334519073e-3f,
        E3 = 4.1665795894e-2f, E4 = 1.6666665459e-1f, E5 = 5.0000001201e-1f;
    private const float TanhTiny = 0.0004f;

    // Eigen's clamp: the largest input whose approximation stays below 1 — it depends on whether the polynomial
    // steps are fused (7.99881172) or separately rounded (7.90531111), so that tanh(±inf) is exactly ±1 on both paths.
    // Written as a conditional on Fma.IsSupported inside Tanh (a JIT-time constant): a property getter is a call
    // wherever the big gate kernels have used up the JIT's inlining budget.
    private const float TanhClampFused = 7.99881172180175781f, TanhClampUnfused = 7.90531110763549805f;
    private const float A1 = 4.89352455891786e-03f, A3 = 6.37261928875436e-04f, A5 = 1.48572235717979e-05f,
        A7 = 5.12229709037114e-08f, A9 = -8.60467152213735e-11f, A11 = 2.00018790482477e-13f, A13 = -2.76076847742355e-16f;
    private const float B0 = 4.89352518554385e-03f, B2 = 2.26843463243900e-03f, B4 = 1.18534705686654e-04f, B6 = 1.19825839466702e-06f;

    /// <summary>exp(x) per lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V Exp<V>(V x) where V : struct, ISimdMath<V, float>
    {
        x = V.Clamp(x, V.Create(ExpLo), V.Create(ExpHi));
        var n = V.Round(x * V.Create(Log2E));
        var r = V.MulAdd(n, V.Create(-Ln2Hi), x);
        r = V.MulAdd(n, V.Create(-Ln2Lo), r);
        var p = V.MulAdd(V.Create(E0), r, V.Create(E1));
        p = V.MulAdd(p, r, V.Create(E2));
        p = V.MulAdd(p, r, V.Create(E3));
        p = V.MulAdd(p, r, V.Create(E4));
        p = V.MulAdd(p, r, V.Create(E5));
        p = V.MulAdd(p, r * r, r) + V.One;
        return p * V.PowerOfTwo(n);
    }

    /// <summary>1 / (1 + exp(−x)) per lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V Sigmoid<V>(V x) where V : struct, ISimdMath<V, float> => V.One / (V.One + Exp(-x));

    /// <summary>tanh(x) per lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V Tanh<V>(V a) where V : struct, ISimdMath<V, float>
    {
        float clamp = Fma.IsSupported ? TanhClampFused : TanhClampUnfused;
        var x = V.Clamp(a, V.Create(-clamp), V.Create(clamp));
        var x2 = x * x;
        var p = V.MulAdd(x2, V.Create(A13), V.Create(A11));
        p = V.MulAdd(x2, p, V.Create(A9));
        p = V.MulAdd(x2, p, V.Create(A7));
        p = V.MulAdd(x2, p, V.Create(A5));
        p = V.MulAdd(x2, p, V.Create(A3));
        p = V.MulAdd(x2, p, V.Create(A1));
        p = x * p;
        var q = V.MulAdd(x2, V.Create(B6), V.Create(B4));
        q = V.MulAdd(x2, q, V.Create(B2));
        q = V.MulAdd(x2, q, V.Create(B0));
        return V.SelectWhereLess(V.Abs(a), V.Create(TanhTiny), a, p / q);
    }

    /// <summary>Scalar exp (one lane of <see cref="Exp{V}"/>).</summary>
    public static float Exp(float x) => Exp(new Scalar<float>(x)).Value;

    /// <summary>Scalar sigmoid (one lane of <see cref="Sigmoid{V}"/>).</summary>
    public static float Sigmoid(float x) => Sigmoid(new Scalar<float>(x)).Value;

    /// <summary>Scalar tanh (one lane of <see cref="Tanh{V}"/>).</summary>
    public static float Tanh(float x) => Tanh(new Scalar<float>(x)).Value;
}
