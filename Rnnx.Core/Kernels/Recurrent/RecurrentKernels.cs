using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Rnnx.Simd;

namespace Rnnx.Kernels;

/// <summary>
/// Layout helpers shared by the fused recurrent kernels (spans and integers only). Layouts (B batch, T steps, F features,
/// U units, G = gates * U): the input projection, gate activations and gate gradients are (B*T, G) matrices indexed by
/// (b, t) with t the time index of x, so a step's rows are strided by T*G; the hidden and cell sequences are indexed by
/// (b, k) with k the processing step (k = t, or T-1-t going backwards), which is Keras's output order.
/// </summary>
internal static class RecurrentKernels
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

    /// <summary>
    /// The end of the 16-lane chunk [0, j16) that the gate kernels evaluate before <see cref="SplitFloat"/>'s 8-lane
    /// one (which then covers [j16, j8)): u rounded down to 16 when 512-bit vectors are accelerated, else 0. The gate
    /// math is lane-wise and the same operations at every width, so a unit gets the same bits in either chunk; the
    /// wider vector halves the iterations, whose dependent chains (exp, divide) bound the kernels, not the FP ports.
    /// </summary>
    public static int SplitFloat16(int u) => Wide16 && Vector512.IsHardwareAccelerated ? u & ~15 : 0;

    /// <summary>Whether <see cref="SplitFloat16"/> takes 16-lane vectors (always, except in the kernel benchmarks' baseline row; the results are the same).</summary>
    internal static bool Wide16 { get; set; } = true;

    /// <summary>
    /// Rows whose [j8, j4) chunk (the 4 units after the last full 8-lane vector) is evaluated two rows at a time in one
    /// 8-lane vector (<see cref="RowPair"/>): the even prefix of the rows when that chunk exists and 256-bit vectors
    /// are accelerated, else 0. The remaining row (odd counts) takes the 4-lane vector.
    /// </summary>
    public static int PairedRows(int rows, int j8, int j4) => PairTails && j4 > j8 && Vector256.IsHardwareAccelerated ? rows & ~1 : 0;

    /// <summary>Whether <see cref="PairedRows"/> pairs rows (always, except in the kernel benchmarks' baseline row; the results are the same).</summary>
    internal static bool PairTails { get; set; } = true;

    /// <summary>A reference to the first element of <paramref name="s"/> reinterpreted as <typeparamref name="TTo"/> (same type at run time).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ref TTo FirstAs<T, TTo>(Span<T> s) where T : unmanaged where TTo : unmanaged
        => ref Unsafe.As<T, TTo>(ref MemoryMarshal.GetReference(s));

    /// <inheritdoc cref="FirstAs{T, TTo}(Span{T})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ref TTo FirstAs<T, TTo>(ReadOnlySpan<T> s) where T : unmanaged where TTo : unmanaged
        => ref Unsafe.As<T, TTo>(ref MemoryMarshal.GetReference(s));

    /// <summary><paramref name="s"/> as floats (T is float at run time).</summary>
    public static Span<float> AsFloat<T>(Span<T> s) where T : unmanaged => MemoryMarshal.CreateSpan(ref FirstAs<T, float>(s), s.Length);

    /// <summary><paramref name="s"/> as floats (T is float at run time).</summary>
    public static ReadOnlySpan<float> AsFloat<T>(ReadOnlySpan<T> s) where T : unmanaged => MemoryMarshal.CreateReadOnlySpan(ref FirstAs<T, float>(s), s.Length);

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
            ref float pz = ref FirstAs<T, float>(z);
            ref float pb = ref FirstAs<T, float>(bias);
            AddRows<float, Simd256<float>>(ref pz, rows, ld, ref pb, 0, j8);
            AddRows<float, Simd128<float>>(ref pz, rows, ld, ref pb, j8, j4);
            AddRows<float, Scalar<float>>(ref pz, rows, ld, ref pb, j4, g);
        }
        else AddRows<double, Scalar<double>>(ref FirstAs<T, double>(z), rows, ld, ref FirstAs<T, double>(bias), 0, g);
    }

    private static void AddRows<T, V>(ref T z, int rows, int ld, ref T bias, int j0, int j1) where T : unmanaged, IBinaryFloatingPointIeee754<T> where V : struct, ISimdVector<V, T>
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
            ref float pz = ref FirstAs<T, float>(z);
            ref float pd = ref FirstAs<T, float>(dst);
            ColumnSums<float, Simd256<float>>(ref pz, rows, ld, ref pd, 0, j8);
            ColumnSums<float, Simd128<float>>(ref pz, rows, ld, ref pd, j8, j4);
            ColumnSums<float, Scalar<float>>(ref pz, rows, ld, ref pd, j4, g);
        }
        else ColumnSums<double, Scalar<double>>(ref FirstAs<T, double>(z), rows, ld, ref FirstAs<T, double>(dst), 0, g);
    }

    private static void ColumnSums<T, V>(ref T z, int rows, int ld, ref T dst, int j0, int j1) where T : unmanaged, IBinaryFloatingPointIeee754<T> where V : struct, ISimdVector<V, T>
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
}

/// <summary>
/// Where the lanes of a gate kernel's vector come from: <see cref="OneRow{T, V}"/> (V.Count units of one row) or
/// <see cref="RowPair"/> (4 units of each of two rows in one 8-lane vector). A kernel body written against it is one
/// implementation of the per-element math for both; the math is lane-wise, so a unit's result is the same bits either way.
/// </summary>
internal interface IRowLanes<T, V> where T : unmanaged, IBinaryFloatingPointIeee754<T> where V : struct, ISimdMath<V, T>
{
    /// <summary>Rows covered per evaluation (1 or 2).</summary>
    static abstract int Rows { get; }

    /// <summary>The lanes at unit offset j of the row(s): row0 only, or row0's 4 then row1's 4.</summary>
    static abstract V Load(ref T row0, ref T row1, nint j);

    /// <summary>The lanes at unit offset j of a per-unit vector every row shares (bias, peephole weights).</summary>
    static abstract V LoadShared(ref T x, nint j);

    /// <summary>Stores the lanes at unit offset j of the row(s) (the inverse of <see cref="Load"/>).</summary>
    static abstract void Store(V v, ref T row0, ref T row1, nint j);
}

/// <summary>V.Count consecutive units of one row (row1 is not read).</summary>
internal readonly struct OneRow<T, V> : IRowLanes<T, V> where T : unmanaged, IBinaryFloatingPointIeee754<T> where V : struct, ISimdMath<V, T>
{
    public static int Rows => 1;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V Load(ref T row0, ref T row1, nint j) => V.Load(ref row0, j);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V LoadShared(ref T x, nint j) => V.Load(ref x, j);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(V v, ref T row0, ref T row1, nint j) => V.Store(v, ref row0, j);
}

/// <summary>
/// Four units of each of two rows in one 256-bit vector (the 4-unit tail of rows of 4·n + 4 units: one 8-lane
/// evaluation instead of two 4-lane ones, which cost about as much as an 8-lane one each).
/// </summary>
internal readonly struct RowPair : IRowLanes<float, Simd256<float>>
{
    public static int Rows => 2;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd256<float> Load(ref float row0, ref float row1, nint j) =>
        new(Vector256.Create(Vector128.LoadUnsafe(ref Unsafe.Add(ref row0, j)), Vector128.LoadUnsafe(ref Unsafe.Add(ref row1, j))));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd256<float> LoadShared(ref float x, nint j)
    {
        var v = Vector128.LoadUnsafe(ref Unsafe.Add(ref x, j));
        return new(Vector256.Create(v, v));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Simd256<float> v, ref float row0, ref float row1, nint j)
    {
        v.Value.GetLower().StoreUnsafe(ref Unsafe.Add(ref row0, j));
        v.Value.GetUpper().StoreUnsafe(ref Unsafe.Add(ref row1, j));
    }
}
