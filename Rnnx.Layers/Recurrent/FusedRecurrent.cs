using System.Buffers;
using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Rnnx.Autodiff;
using Rnnx.Kernels;
using X86Fma = System.Runtime.Intrinsics.X86.Fma;

namespace Rnnx.Layers;

// Shared machinery of the fused whole-sequence recurrent ops (SimpleRNNCell.Fused.cs, LSTMCell.Fused.cs,
// GRUCell.Fused.cs).
//
// Layouts used by every fused op (B batch, T steps, F features, U units, G = gates * U):
// - x (B, T, F) is read as a (B*T, F) matrix; the input projection XW = x*W is ONE GEMM over all B*T rows, so
//   its rows, the saved gate activations and the gate gradients dZ are indexed by (b, t) with t the real time
//   index of x. A step's rows are therefore strided by T*G and every per-step GEMM addresses them in place
//   through its leading dimension.
// - The hidden sequence H (the op's output) and, for LSTM, the cell sequence C are indexed by (b, k) with k the
//   processing step (k = t, or T-1-t with goBackwards), which is Keras's output order.
// - Per-step element-wise work runs in one pass over the step's rows with lane structs (F8 = Vector256<float>,
//   F4 = Vector128<float>, F1 = float, D1 = double) so one generic body serves every width. Float uses the fast
//   vectorized sigmoid/tanh of FastMath (a few ulp); double uses Math.Exp/Math.Tanh (gradient checks).

/// <summary>A SIMD lane of <typeparamref name="T"/> values: the operations the fused cell kernels need.</summary>
internal interface ILane<TSelf, T> where TSelf : struct, ILane<TSelf, T> where T : unmanaged
{
    static abstract int Count { get; }
    static abstract TSelf Load(ref T p, nint i);
    static abstract void Store(TSelf v, ref T p, nint i);
    static abstract TSelf Zero { get; }
    static abstract TSelf One { get; }
    static abstract TSelf operator +(TSelf a, TSelf b);
    static abstract TSelf operator -(TSelf a, TSelf b);
    static abstract TSelf operator *(TSelf a, TSelf b);
    static abstract TSelf Sigmoid(TSelf x);
    static abstract TSelf Tanh(TSelf x);
    static abstract TSelf Relu(TSelf x);
    /// <summary>y &gt; 0 ? g : 0 (the ReLU derivative in terms of its output, 0 at 0 as TF).</summary>
    static abstract TSelf WherePositive(TSelf y, TSelf g);
}

internal readonly struct F8 : ILane<F8, float>
{
    private readonly Vector256<float> _v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] private F8(Vector256<float> v) => _v = v;
    public static int Count => 8;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F8 Load(ref float p, nint i) => new(Vector256.LoadUnsafe(ref Unsafe.Add(ref p, i)));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(F8 v, ref float p, nint i) => v._v.StoreUnsafe(ref Unsafe.Add(ref p, i));
    public static F8 Zero => new(Vector256<float>.Zero);
    public static F8 One => new(Vector256<float>.One);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F8 operator +(F8 a, F8 b) => new(a._v + b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F8 operator -(F8 a, F8 b) => new(a._v - b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F8 operator *(F8 a, F8 b) => new(a._v * b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F8 Sigmoid(F8 x) => new(FastMath.Sigmoid(x._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F8 Tanh(F8 x) => new(FastMath.Tanh(x._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F8 Relu(F8 x) => new(Vector256.Max(x._v, Vector256<float>.Zero));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F8 WherePositive(F8 y, F8 g) => new(Vector256.ConditionalSelect(Vector256.GreaterThan(y._v, Vector256<float>.Zero), g._v, Vector256<float>.Zero));
}

internal readonly struct F4 : ILane<F4, float>
{
    private readonly Vector128<float> _v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] private F4(Vector128<float> v) => _v = v;
    public static int Count => 4;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F4 Load(ref float p, nint i) => new(Vector128.LoadUnsafe(ref Unsafe.Add(ref p, i)));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(F4 v, ref float p, nint i) => v._v.StoreUnsafe(ref Unsafe.Add(ref p, i));
    public static F4 Zero => new(Vector128<float>.Zero);
    public static F4 One => new(Vector128<float>.One);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F4 operator +(F4 a, F4 b) => new(a._v + b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F4 operator -(F4 a, F4 b) => new(a._v - b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F4 operator *(F4 a, F4 b) => new(a._v * b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F4 Sigmoid(F4 x) => new(FastMath.Sigmoid(x._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F4 Tanh(F4 x) => new(FastMath.Tanh(x._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F4 Relu(F4 x) => new(Vector128.Max(x._v, Vector128<float>.Zero));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F4 WherePositive(F4 y, F4 g) => new(Vector128.ConditionalSelect(Vector128.GreaterThan(y._v, Vector128<float>.Zero), g._v, Vector128<float>.Zero));
}

internal readonly struct F1 : ILane<F1, float>
{
    private readonly float _v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] private F1(float v) => _v = v;
    public static int Count => 1;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F1 Load(ref float p, nint i) => new(Unsafe.Add(ref p, i));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(F1 v, ref float p, nint i) => Unsafe.Add(ref p, i) = v._v;
    public static F1 Zero => new(0f);
    public static F1 One => new(1f);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F1 operator +(F1 a, F1 b) => new(a._v + b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F1 operator -(F1 a, F1 b) => new(a._v - b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F1 operator *(F1 a, F1 b) => new(a._v * b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F1 Sigmoid(F1 x) => new(FastMath.Sigmoid(x._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F1 Tanh(F1 x) => new(FastMath.Tanh(x._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F1 Relu(F1 x) => new(MathF.Max(x._v, 0f));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F1 WherePositive(F1 y, F1 g) => new(y._v > 0f ? g._v : 0f);
}

/// <summary>Scalar double lane with the exact library functions (used for gradient checks, not for speed).</summary>
internal readonly struct D1 : ILane<D1, double>
{
    private readonly double _v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] private D1(double v) => _v = v;
    public static int Count => 1;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static D1 Load(ref double p, nint i) => new(Unsafe.Add(ref p, i));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(D1 v, ref double p, nint i) => Unsafe.Add(ref p, i) = v._v;
    public static D1 Zero => new(0.0);
    public static D1 One => new(1.0);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static D1 operator +(D1 a, D1 b) => new(a._v + b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static D1 operator -(D1 a, D1 b) => new(a._v - b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static D1 operator *(D1 a, D1 b) => new(a._v * b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static D1 Sigmoid(D1 x) => new(1.0 / (1.0 + Math.Exp(-x._v)));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static D1 Tanh(D1 x) => new(Math.Tanh(x._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static D1 Relu(D1 x) => new(Math.Max(x._v, 0.0));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static D1 WherePositive(D1 y, D1 g) => new(y._v > 0.0 ? g._v : 0.0);
}

/// <summary>
/// Vectorized float sigmoid and tanh for the fused kernels, identical lane by lane at every width (the scalar
/// versions perform the same IEEE operations, with FMA exactly when the vector versions use it).
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
    private static float TanhClamp => X86Fma.IsSupported ? 7.99881172180175781f : 7.90531110763549805f;
    private const float A1 = 4.89352455891786e-03f, A3 = 6.37261928875436e-04f, A5 = 1.48572235717979e-05f,
        A7 = 5.12229709037114e-08f, A9 = -8.60467152213735e-11f, A11 = 2.00018790482477e-13f, A13 = -2.76076847742355e-16f;
    private const float B0 = 4.89352518554385e-03f, B2 = 2.26843463243900e-03f, B4 = 1.18534705686654e-04f, B6 = 1.19825839466702e-06f;

    // ---------------------------------------------------------------- Vector256

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Fma(Vector256<float> a, Vector256<float> b, Vector256<float> c)
        => X86Fma.IsSupported ? X86Fma.MultiplyAdd(a, b, c) : a * b + c;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp(Vector256<float> x)
    {
        x = Vector256.Min(Vector256.Max(x, Vector256.Create(ExpLo)), Vector256.Create(ExpHi));
        var n = Vector256.Round(x * Vector256.Create(Log2E));
        var r = Fma(n, Vector256.Create(-Ln2Hi), x);
        r = Fma(n, Vector256.Create(-Ln2Lo), r);
        var p = Fma(Vector256.Create(E0), r, Vector256.Create(E1));
        p = Fma(p, r, Vector256.Create(E2));
        p = Fma(p, r, Vector256.Create(E3));
        p = Fma(p, r, Vector256.Create(E4));
        p = Fma(p, r, Vector256.Create(E5));
        p = Fma(p, r * r, r) + Vector256<float>.One;
        var scale = (Vector256.ConvertToInt32Native(n) + Vector256.Create(127)) << 23;
        return p * scale.AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Sigmoid(Vector256<float> x) => Vector256<float>.One / (Vector256<float>.One + Exp(-x));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Tanh(Vector256<float> a)
    {
        var x = Vector256.Min(Vector256.Max(a, Vector256.Create(-TanhClamp)), Vector256.Create(TanhClamp));
        var tiny = Vector256.LessThan(Vector256.Abs(a), Vector256.Create(TanhTiny));
        var x2 = x * x;
        var p = Fma(x2, Vector256.Create(A13), Vector256.Create(A11));
        p = Fma(x2, p, Vector256.Create(A9));
        p = Fma(x2, p, Vector256.Create(A7));
        p = Fma(x2, p, Vector256.Create(A5));
        p = Fma(x2, p, Vector256.Create(A3));
        p = Fma(x2, p, Vector256.Create(A1));
        p = x * p;
        var q = Fma(x2, Vector256.Create(B6), Vector256.Create(B4));
        q = Fma(x2, q, Vector256.Create(B2));
        q = Fma(x2, q, Vector256.Create(B0));
        return Vector256.ConditionalSelect(tiny, a, p / q);
    }

    // ---------------------------------------------------------------- Vector128

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Fma(Vector128<float> a, Vector128<float> b, Vector128<float> c)
        => X86Fma.IsSupported ? X86Fma.MultiplyAdd(a, b, c) : a * b + c;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Exp(Vector128<float> x)
    {
        x = Vector128.Min(Vector128.Max(x, Vector128.Create(ExpLo)), Vector128.Create(ExpHi));
        var n = Vector128.Round(x * Vector128.Create(Log2E));
        var r = Fma(n, Vector128.Create(-Ln2Hi), x);
        r = Fma(n, Vector128.Create(-Ln2Lo), r);
        var p = Fma(Vector128.Create(E0), r, Vector128.Create(E1));
        p = Fma(p, r, Vector128.Create(E2));
        p = Fma(p, r, Vector128.Create(E3));
        p = Fma(p, r, Vector128.Create(E4));
        p = Fma(p, r, Vector128.Create(E5));
        p = Fma(p, r * r, r) + Vector128<float>.One;
        var scale = (Vector128.ConvertToInt32Native(n) + Vector128.Create(127)) << 23;
        return p * scale.AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Sigmoid(Vector128<float> x) => Vector128<float>.One / (Vector128<float>.One + Exp(-x));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Tanh(Vector128<float> a)
    {
        var x = Vector128.Min(Vector128.Max(a, Vector128.Create(-TanhClamp)), Vector128.Create(TanhClamp));
        var tiny = Vector128.LessThan(Vector128.Abs(a), Vector128.Create(TanhTiny));
        var x2 = x * x;
        var p = Fma(x2, Vector128.Create(A13), Vector128.Create(A11));
        p = Fma(x2, p, Vector128.Create(A9));
        p = Fma(x2, p, Vector128.Create(A7));
        p = Fma(x2, p, Vector128.Create(A5));
        p = Fma(x2, p, Vector128.Create(A3));
        p = Fma(x2, p, Vector128.Create(A1));
        p = x * p;
        var q = Fma(x2, Vector128.Create(B6), Vector128.Create(B4));
        q = Fma(x2, q, Vector128.Create(B2));
        q = Fma(x2, q, Vector128.Create(B0));
        return Vector128.ConditionalSelect(tiny, a, p / q);
    }

    // ---------------------------------------------------------------- scalar (same operations as one lane)

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Fma(float a, float b, float c) => X86Fma.IsSupported ? MathF.FusedMultiplyAdd(a, b, c) : a * b + c;

    public static float Exp(float x)
    {
        x = MathF.Min(MathF.Max(x, ExpLo), ExpHi);
        float n = MathF.Round(x * Log2E);
        float r = Fma(n, -Ln2Hi, x);
        r = Fma(n, -Ln2Lo, r);
        float p = Fma(E0, r, E1);
        p = Fma(p, r, E2);
        p = Fma(p, r, E3);
        p = Fma(p, r, E4);
        p = Fma(p, r, E5);
        p = Fma(p, r * r, r) + 1f;
        return p * BitConverter.Int32BitsToSingle(((int)n + 127) << 23);
    }

    public static float Sigmoid(float x) => 1f / (1f + Exp(-x));

    public static float Tanh(float a)
    {
        float x = MathF.Min(MathF.Max(a, -TanhClamp), TanhClamp);
        float x2 = x * x;
        float p = Fma(x2, A13, A11);
        p = Fma(x2, p, A9);
        p = Fma(x2, p, A7);
        p = Fma(x2, p, A5);
        p = Fma(x2, p, A3);
        p = Fma(x2, p, A1);
        p = x * p;
        float q = Fma(x2, B6, B4);
        q = Fma(x2, q, B2);
        q = Fma(x2, q, B0);
        return MathF.Abs(a) < TanhTiny ? a : p / q;
    }
}

/// <summary>Helpers shared by the fused recurrent ops.</summary>
internal static class FusedRecurrent
{
    /// <summary>
    /// Splits [0, u) for float kernels: [0, j8) in 8-lane vectors, [j8, j4) in 4-lane vectors, [j4, u) scalar.
    /// Chunks never overlap, so kernels may update buffers in place.
    /// </summary>
    public static (int J8, int J4) SplitFloat(int u)
    {
        int j8 = Vector256.IsHardwareAccelerated ? u & ~7 : 0;
        int j4 = Vector128.IsHardwareAccelerated ? j8 + ((u - j8) & ~3) : j8;
        return (j8, j4);
    }

    /// <summary>A reference to the first element of <paramref name="s"/> reinterpreted as <typeparamref name="TTo"/> (same type at run time).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ref TTo R<T, TTo>(Span<T> s) where T : unmanaged where TTo : unmanaged
        => ref Unsafe.As<T, TTo>(ref MemoryMarshal.GetReference(s));

    /// <inheritdoc cref="R{T, TTo}(Span{T})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ref TTo R<T, TTo>(ReadOnlySpan<T> s) where T : unmanaged where TTo : unmanaged
        => ref Unsafe.As<T, TTo>(ref MemoryMarshal.GetReference(s));

    /// <summary>Whether the op must be recorded: the tape records and any input requires a gradient.</summary>
    public static Tape? Recorder(TensorData a, TensorData b, TensorData c, TensorData? d, TensorData e, TensorData? f)
    {
        var tape = Tape.RecordingTape();
        if (tape is null) return null;
        bool any = a.RequiresGrad || b.RequiresGrad || c.RequiresGrad || (d?.RequiresGrad ?? false) || e.RequiresGrad || (f?.RequiresGrad ?? false);
        return any ? tape : null;
    }

    /// <summary>
    /// LSTM inference (nothing recorded) on at least this many series runs time-major: with the (batch, time) row layout
    /// a step's gate rows are T·4U values apart, so a large batch spreads every step over megabytes and thousands of
    /// pages (1000 series x 50 steps x 80 gates is 16 MB); time-major, a step is one contiguous block. Same numbers.
    /// </summary>
    public const int TimeMajorMinBatch = 64;

    /// <summary>(B, T, W) to (T, B, W) (<paramref name="toTimeMajor"/>) or back.</summary>
    public static unsafe void TimeMajorCopy<T>(ReadOnlySpan<T> src, Span<T> dst, int batch, int steps, int width, bool toTimeMajor) where T : unmanaged
    {
        int rows = toTimeMajor ? batch : steps, cols = toTimeMajor ? steps : batch;
        if (width == 1)
        {
            fixed (T* ps = src)
            fixed (T* pd = dst)
                MatMulKernels.PackTransposed(ps, cols, rows, cols, pd);
            return;
        }
        ref byte s0 = ref Unsafe.As<T, byte>(ref MemoryMarshal.GetReference(src));
        ref byte d0 = ref Unsafe.As<T, byte>(ref MemoryMarshal.GetReference(dst));
        nint bytes = (nint)width * sizeof(T);
        for (int i = 0; i < rows; i++)
        {
            ref byte si = ref Unsafe.Add(ref s0, i * cols * bytes);
            for (int j = 0; j < cols; j++)
                CopyRow(ref Unsafe.Add(ref si, j * bytes), ref Unsafe.Add(ref d0, ((nint)j * rows + i) * bytes), bytes);
        }
    }

    /// <summary>Copies a short run of bytes with 32-, 16- and 8-byte moves (row copies of a few dozen floats).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyRow(ref byte src, ref byte dst, nint bytes)
    {
        nint o = 0;
        for (; o + 32 <= bytes; o += 32) Vector256.LoadUnsafe(ref src, (nuint)o).StoreUnsafe(ref dst, (nuint)o);
        if (o + 16 <= bytes) { Vector128.LoadUnsafe(ref src, (nuint)o).StoreUnsafe(ref dst, (nuint)o); o += 16; }
        for (; o + 8 <= bytes; o += 8) Unsafe.WriteUnaligned(ref Unsafe.Add(ref dst, o), Unsafe.ReadUnaligned<long>(ref Unsafe.Add(ref src, o)));
        for (; o < bytes; o++) Unsafe.Add(ref dst, o) = Unsafe.Add(ref src, o);
    }

    /// <summary>The time index of x processed at step <paramref name="k"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int TimeOf(int k, int steps, bool goBackwards) => goBackwards ? steps - 1 - k : k;

    /// <summary>rows (rows x g, leading dimension ld) += bias (g) on every row.</summary>
    public static void AddBiasRows<T>(Span<T> z, int rows, int g, int ld, ReadOnlySpan<T> bias) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Debug.Assert(rows == 0 || z.Length >= (rows - 1) * ld + g);
        if (ld == g && g < 8)
        {
            // contiguous narrow rows (a SimpleRNN(1) projection): the kernel vectorizes across rows
            ReductionKernels.AddRowVector(z, bias, rows, g);
            return;
        }
        if (typeof(T) == typeof(float))
        {
            var (j8, j4) = SplitFloat(g);
            ref float pz = ref R<T, float>(z);
            ref float pb = ref R<T, float>(bias);
            AddRows<float, F8>(ref pz, rows, ld, ref pb, 0, j8);
            AddRows<float, F4>(ref pz, rows, ld, ref pb, j8, j4);
            AddRows<float, F1>(ref pz, rows, ld, ref pb, j4, g);
        }
        else AddRows<double, D1>(ref R<T, double>(z), rows, ld, ref R<T, double>(bias), 0, g);
    }

    private static void AddRows<T, V>(ref T z, int rows, int ld, ref T bias, int j0, int j1) where T : unmanaged where V : struct, ILane<V, T>
    {
        for (int r = 0; r < rows; r++)
        {
            ref T row = ref Unsafe.Add(ref z, (nint)r * ld);
            for (int j = j0; j < j1; j += V.Count) V.Store(V.Load(ref row, j) + V.Load(ref bias, j), ref row, j);
        }
    }

    /// <summary>dst (g) += column sums of z (rows x g, leading dimension ld).</summary>
    public static void AddColumnSums<T>(ReadOnlySpan<T> z, int rows, int g, int ld, Span<T> dst) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Debug.Assert(rows == 0 || z.Length >= (rows - 1) * ld + g);
        if (typeof(T) == typeof(float))
        {
            var (j8, j4) = SplitFloat(g);
            ref float pz = ref R<T, float>(z);
            ref float pd = ref R<T, float>(dst);
            ColumnSums<float, F8>(ref pz, rows, ld, ref pd, 0, j8);
            ColumnSums<float, F4>(ref pz, rows, ld, ref pd, j8, j4);
            ColumnSums<float, F1>(ref pz, rows, ld, ref pd, j4, g);
        }
        else ColumnSums<double, D1>(ref R<T, double>(z), rows, ld, ref R<T, double>(dst), 0, g);
    }

    private static void ColumnSums<T, V>(ref T z, int rows, int ld, ref T dst, int j0, int j1) where T : unmanaged where V : struct, ILane<V, T>
    {
        for (int j = j0; j < j1; j += V.Count)
        {
            // four independent accumulators: the sum is throughput-bound, not bound by the latency of one add chain
            V a0 = V.Zero, a1 = V.Zero, a2 = V.Zero, a3 = V.Zero;
            int r = 0;
            for (; r + 4 <= rows; r += 4)
            {
                ref T row = ref Unsafe.Add(ref z, (nint)r * ld);
                a0 += V.Load(ref row, j);
                a1 += V.Load(ref Unsafe.Add(ref row, ld), j);
                a2 += V.Load(ref Unsafe.Add(ref row, 2 * (nint)ld), j);
                a3 += V.Load(ref Unsafe.Add(ref row, 3 * (nint)ld), j);
            }
            for (; r < rows; r++) a0 += V.Load(ref Unsafe.Add(ref z, (nint)r * ld), j);
            V.Store(V.Load(ref dst, j) + ((a0 + a1) + (a2 + a3)), ref dst, j);
        }
    }

    /// <summary>dst (cols x rows) = src (rows x cols) transposed.</summary>
    public static void Transpose<T>(ReadOnlySpan<T> src, int rows, int cols, Span<T> dst) where T : unmanaged
    {
        for (int i = 0; i < rows; i++)
        {
            var row = src.Slice(i * cols, cols);
            for (int j = 0; j < cols; j++) dst[j * rows + i] = row[j];
        }
    }

    /// <summary>
    /// The state entering the step that processes time t, for every (b, t): a (B*T, U) matrix aligned with the rows
    /// of x and dZ (for the one-GEMM recurrent-kernel gradient).
    /// </summary>
    public static void BuildPreviousStates<T>(ReadOnlySpan<T> h, ReadOnlySpan<T> h0, int batch, int steps, int units, bool goBackwards, Span<T> dst) where T : unmanaged
    {
        int rowLen = steps * units;
        for (int b = 0; b < batch; b++)
        {
            var hb = h.Slice(b * rowLen, rowLen);
            var db = dst.Slice(b * rowLen, rowLen);
            var h0b = h0.Slice(b * units, units);
            if (!goBackwards)
            {
                h0b.CopyTo(db);
                hb[..(rowLen - units)].CopyTo(db[units..]);
            }
            else
            {
                // step k processes t = T-1-k and starts from h_{k-1} (h0 for k = 0).
                for (int t = 0; t < steps; t++)
                {
                    int k = steps - 1 - t;
                    (k == 0 ? h0b : hb.Slice((k - 1) * units, units)).CopyTo(db.Slice(t * units, units));
                }
            }
        }
    }

    /// <summary>
    /// Scratch memory for a fused op: from the active tape (recycled by Reset) or, with no tape, from one
    /// <see cref="ArrayPool{T}"/> rental returned by <see cref="Dispose"/>.
    /// </summary>
    public ref struct Scratch<T> where T : unmanaged
    {
        private readonly Tape? _tape;
        private T[]? _rented;
        private int _pos;

        public Scratch(Tape? tape, int capacityWithoutTape)
        {
            _tape = tape;
            _rented = tape is null ? ArrayPool<T>.Shared.Rent(Math.Max(capacityWithoutTape, 1)) : null;
            _pos = 0;
        }

        /// <summary>A buffer of <paramref name="length"/> elements, not zeroed.</summary>
        public Span<T> Get(int length)
        {
            if (_tape is not null) return _tape.Scratch<T>(length);
            var s = _rented.AsSpan(_pos, length);
            _pos += length;
            return s;
        }

        /// <summary>A zeroed buffer.</summary>
        public Span<T> Zeroed(int length)
        {
            var s = Get(length);
            s.Clear();
            return s;
        }

        /// <summary>A buffer saved for backward (a tape tensor) when <paramref name="saved"/> is set, else scratch.</summary>
        public Span<T> Saved(Tape? recorder, Shape shape, DType dtype, out TensorData? saved)
        {
            if (recorder is not null)
            {
                saved = recorder.NewData(shape, dtype);
                return saved.Span<T>();
            }
            saved = null;
            return Get(shape.Size);
        }

        public void Dispose()
        {
            if (_rented is not null) ArrayPool<T>.Shared.Return(_rented);
            _rented = null;
        }
    }

    /// <summary>Adds <paramref name="src"/> into the gradient of <paramref name="input"/> when it requires one.</summary>
    public static void AccumulateInto<T>(Tape tape, TensorData input, ReadOnlySpan<T> src) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (input.RequiresGrad) Elementwise.AddInPlace(tape.Grad<T>(input), src);
    }
}

/// <summary>
/// seq[:, T-1, :] of a (B, T, U) sequence produced by a fused recurrent op: the last output or a final state.
/// Inputs: A = the sequence, B = the fused op's output (the hidden sequence; may be A). Backward adds g into the
/// last step of A's gradient and makes sure B has a gradient buffer, so the fused op's backward runs even when
/// only a final state is used downstream.
/// </summary>
internal sealed class SequenceLastStepOp : Op
{
    public static readonly SequenceLastStepOp Instance = new();

    public override string Name => "SequenceLastStep";

    /// <param name="seq">The (B, T, U) sequence.</param>
    /// <param name="owner">The fused op's output; the entry is recorded when it requires a gradient.</param>
    public static Tensor Apply(TensorData seq, TensorData owner)
    {
        int b = seq.Shape[0], t = seq.Shape[1], u = seq.Shape[2];
        var o = Tape.NewResult(new Shape(b, u), seq.DType);
        if (o.DType == DType.Float32) Copy<float>(seq.Span<float>(), o.Span<float>(), b, t, u);
        else Copy<double>(seq.Span<double>(), o.Span<double>(), b, t, u);
        if (owner.RequiresGrad && Tape.RecordingTape() is { } tape)
        {
            ref var e = ref tape.Record(Instance, o);
            e.A = seq;
            e.B = owner;
        }
        return new Tensor(o);
    }

    private static void Copy<T>(ReadOnlySpan<T> seq, Span<T> dst, int b, int t, int u) where T : unmanaged
    {
        for (int i = 0; i < b; i++) seq.Slice((i * t + t - 1) * u, u).CopyTo(dst.Slice(i * u, u));
    }

    public override void Backward(Tape tape, in TapeEntry e)
    {
        if (e.Out.DType == DType.Float32) Run<float>(tape, e);
        else Run<double>(tape, e);
    }

    private static void Run<T>(Tape tape, in TapeEntry e) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        TensorData seq = e.A!, owner = e.B!;
        int b = seq.Shape[0], t = seq.Shape[1], u = seq.Shape[2];
        var g = tape.GradOf<T>(e.Out);
        var gs = tape.Grad<T>(seq);
        for (int i = 0; i < b; i++) Elementwise.AddInPlace(gs.Slice((i * t + t - 1) * u, u), g.Slice(i * u, u));
        if (!ReferenceEquals(seq, owner)) tape.Grad<T>(owner);
    }
}
