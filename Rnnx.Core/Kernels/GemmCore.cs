using System.Numerics;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

using Rnnx.Simd;

namespace Rnnx.Kernels;

/// <summary>Compile-time integer for generic specialisation of the micro-tile shape.</summary>
internal interface IConst
{
    static abstract int Value { get; }
}

internal readonly struct C1 : IConst { public static int Value => 1; }
internal readonly struct C2 : IConst { public static int Value => 2; }
internal readonly struct C3 : IConst { public static int Value => 3; }
internal readonly struct C4 : IConst { public static int Value => 4; }

/// <summary>
/// Two-level reduction ("k") loop of a GEMM: k index = (o, q) with o &lt; <see cref="Outer"/>, q &lt; <see cref="Inner"/>.
/// The A element of a row is at rowPtr[o*AOuter + q*AInner]; the B row (a contiguous run of n elements)
/// starts at b + o*BOuter + q*BInner. A plain GEMM has Outer = 1; the convolutions use the outer level for
/// taps (forward, backward-input) or for the batch (backward-weight), so one tile keeps its accumulators in
/// registers over the whole reduction.
/// </summary>
internal readonly struct KLoop
{
    public readonly int Outer;
    public readonly int Inner;
    public readonly nint AOuter;
    public readonly nint AInner;
    public readonly nint BOuter;
    public readonly nint BInner;

    public KLoop(int outer, nint aOuter, nint bOuter, int inner, nint aInner, nint bInner)
    {
        Outer = outer; AOuter = aOuter; BOuter = bOuter;
        Inner = inner; AInner = aInner; BInner = bInner;
    }

    /// <summary>Single-level loop of length <paramref name="k"/>.</summary>
    public static KLoop Simple(int k, nint aInner, nint bInner) => new(1, 0, 0, k, aInner, bInner);
}

/// <summary>
/// A GEMM problem C[M x N] (+)= A' * B' in the engine's generalised addressing:
/// row r of A'/C is split as (g, t) = (r / RowsPerGroup, r % RowsPerGroup) and lives at
/// A + g*AGroup + t*ARow (resp. C + g*CGroup + t*CRow); the reduction follows <see cref="K"/>.
/// Rows of C are contiguous runs of N elements. Groups let the convolutions fold the batch into M.
/// </summary>
internal unsafe struct GemmPlan<T> where T : unmanaged
{
    public int M;
    public int N;
    public int RowsPerGroup;
    public T* A;
    public nint ARow;
    public nint AGroup;
    public T* C;
    public nint CRow;
    public nint CGroup;
    public T* B;
    public KLoop K;
    public bool Accumulate;

    /// <summary>Ordinary strided problem (one group).</summary>
    public static GemmPlan<T> Strided(int m, int n, T* a, nint aRow, T* b, in KLoop k, T* c, nint cRow, bool accumulate) => new()
    {
        M = m, N = n, RowsPerGroup = Math.Max(m, 1),
        A = a, ARow = aRow, AGroup = 0,
        C = c, CRow = cRow, CGroup = 0,
        B = b, K = k, Accumulate = accumulate,
    };
}

/// <summary>Walks the (group, row) addressing of a <see cref="GemmPlan{T}"/> without divisions.</summary>
internal unsafe struct RowCursor<T> where T : unmanaged
{
    private T* _aGroup;
    private T* _cGroup;
    private int _t;
    private readonly int _rowsPerGroup;
    private readonly nint _aRow, _aStep, _cRow, _cStep;

    public RowCursor(in GemmPlan<T> p, nint aOffset, nint cOffset)
    {
        _aGroup = p.A + aOffset; _cGroup = p.C + cOffset; _t = 0;
        _rowsPerGroup = p.RowsPerGroup; _aRow = p.ARow; _aStep = p.AGroup; _cRow = p.CRow; _cStep = p.CGroup;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Next(out T* a, out T* c)
    {
        a = _aGroup + _t * _aRow;
        c = _cGroup + _t * _cRow;
        if (++_t == _rowsPerGroup)
        {
            _t = 0;
            _aGroup += _aStep;
            _cGroup += _cStep;
        }
    }
}

/// <summary>
/// Register-blocked GEMM engine shared by <see cref="MatMulKernels"/> and <see cref="Conv1DKernels"/>.
/// <para>
/// Micro-tile: MR (1..4) rows x NV (1..4) vectors of accumulators. Each k step loads NV vectors of the B row,
/// broadcasts one A scalar per row and issues MR*NV FMAs. With 32 vector registers (AVX-512, also for
/// 256-bit vectors) tiles are up to 4x4 (16 accumulators); otherwise (16 registers) up to 4x2, and 4x3 for the
/// last three vectors of a row (all 16 registers: 12 accumulators, the 3 B vectors and the broadcast).
/// Width: the widest accelerated vector with W &lt;= n, except that on half-rate AVX-512 (Zen 4) 256-bit
/// vectors are chosen when they waste fewer lanes (<see cref="CpuTraits.Use512"/>).
/// </para>
/// <para>
/// Tail strategy (n): the columns are covered by ceil(n/W) vectors; when n % W != 0 the last vector is
/// placed at n - W, overlapping its left neighbour inside the same tile. Its old C is read before the row's
/// other stores and its overlapped lanes recompute bit-identical values, so it is stored full-width (no mask,
/// no store-forwarding stall); see <see cref="StoreRow"/>. Problems with n &lt; W use the next narrower
/// vector width, down to scalar. Tail in m: the last 1..3 rows use an MR = 1..3 tile. No tail in k.
/// </para>
/// <para>
/// Accumulation order: each output element sums its k products in increasing k order in a single
/// accumulator (fused when FMA exists), then adds the previous C (accumulate) once. Single-level problems
/// with k &gt; <see cref="KBlock"/> are split into k blocks; block b &gt; 0 accumulates into the stored C.
/// </para>
/// </summary>
internal static unsafe class GemmCore
{
    /// <summary>
    /// k block for single-level problems: a 4-vector B panel of KBlock rows is KBlock*256 bytes and should
    /// stay in L1/L2 while all row tiles stream over it.
    /// </summary>
    internal const int KBlock = 256;

    /// <summary>Runs the plan, picking the widest hardware-accelerated vector that fits in N.</summary>
    public static void Run<T>(in GemmPlan<T> p) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (p.M <= 0 || p.N <= 0)
            return;
        if (p.K.Outer <= 0 || p.K.Inner <= 0)
        {
            if (!p.Accumulate)
                ClearRows(p);
            return;
        }
        GemmPlan<T> q = p;
        if (p.N == 1 && p.K.AInner == 1 && p.K.BInner == 1 && Vector128.IsHardwareAccelerated && p.K.Inner >= Vector128<T>.Count)
        {
            // Matrix-vector product with contiguous reduction runs (e.g. a conv with one output or input channel):
            // vectorise along k instead of n.
            q.K = Collapse(p.K);
            if (typeof(T) == typeof(float) && Avx.IsSupported && Vector256.IsHardwareAccelerated && q.K.Inner >= 8)
            {
                DotRows8(Unsafe.As<GemmPlan<T>, GemmPlan<float>>(ref q));
                return;
            }
            if (Vector512.IsHardwareAccelerated && q.K.Inner >= Vector512<T>.Count)
                Dot<T, Vector512<T>, Simd512<T>>(q, new RowCursor<T>(q, 0, 0), q.M);
            else if (Vector256.IsHardwareAccelerated && q.K.Inner >= Vector256<T>.Count)
                Dot<T, Vector256<T>, Simd256<T>>(q, new RowCursor<T>(q, 0, 0), q.M);
            else
                Dot<T, Vector128<T>, Simd128<T>>(q, new RowCursor<T>(q, 0, 0), q.M);
            return;
        }
        q.K = Normalize(p.K);
        if (Vector512.IsHardwareAccelerated && q.N >= Vector512<T>.Count && CpuTraits.Use512(q.N, Vector512<T>.Count))
            Run<T, Vector512<T>, Simd512<T>>(q);
        else if (Vector256.IsHardwareAccelerated && q.N >= Vector256<T>.Count)
            Run<T, Vector256<T>, Simd256<T>>(q);
        else if (Vector128.IsHardwareAccelerated && q.N >= Vector128<T>.Count)
            Run<T, Vector128<T>, Simd128<T>>(q);
        else
            Run<T, T, Scalar<T>>(q);
    }

    /// <summary>
    /// Collapses a two-level loop that is really contiguous (e.g. a dilation-1 convolution: tap stride == cin)
    /// into one level, otherwise puts the longer level inside (fewer loop restarts per FMA).
    /// </summary>
    internal static KLoop Normalize(in KLoop k)
    {
        KLoop c = Collapse(k);
        if (c.Inner < c.Outer)
            return new KLoop(c.Inner, c.AInner, c.BInner, c.Outer, c.AOuter, c.BOuter);
        return c;
    }

    private static KLoop Collapse(in KLoop k) =>
        k.Outer > 1 && k.AOuter == k.Inner * k.AInner && k.BOuter == k.Inner * k.BInner
            ? KLoop.Simple(checked(k.Outer * k.Inner), k.AInner, k.BInner)
            : k;

    /// <summary>
    /// N == 1 with unit-stride reduction runs: C[r] (+)= sum_o dot(A_r + o*AOuter, B + o*BOuter, Inner).
    /// Four rows share each B vector; per row the partial products go to one vector accumulator that is reduced
    /// horizontally at the end. Tail (Inner % W): one more vector at Inner - W whose already-counted lanes are
    /// zeroed through the mask on the B side.
    /// </summary>
    private static void Dot<T, TVec, TOps>(in GemmPlan<T> p, RowCursor<T> cur, int m)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
    {
        int w = TOps.Count;
        KLoop k = p.K;
        int ki = k.Inner;
        int full = ki - ki % w;
        bool tail = full != ki;
        TVec mask = tail ? TOps.TailMask(full - (ki - w)) : default;
        TVec z = TOps.Zero;
        for (int r = 0; r < m; r += 4)
        {
            int mr = Math.Min(4, m - r);
            cur.Next(out T* a0, out T* c0);
            T* a1 = a0, a2 = a0, a3 = a0, c1 = null, c2 = null, c3 = null;
            if (mr > 1) cur.Next(out a1, out c1);
            if (mr > 2) cur.Next(out a2, out c2);
            if (mr > 3) cur.Next(out a3, out c3);
            TVec s0 = z, s1 = z, s2 = z, s3 = z;
            for (int o = 0; o < k.Outer; o++)
            {
                nint ao = o * k.AOuter;
                T* pb = p.B + o * k.BOuter;
                for (int q = 0; q < full; q += w)
                {
                    TVec bv = TOps.Load(pb + q);
                    s0 = TOps.MulAdd(TOps.Load(a0 + ao + q), bv, s0);
                    s1 = TOps.MulAdd(TOps.Load(a1 + ao + q), bv, s1);
                    s2 = TOps.MulAdd(TOps.Load(a2 + ao + q), bv, s2);
                    s3 = TOps.MulAdd(TOps.Load(a3 + ao + q), bv, s3);
                }
                if (tail)
                {
                    TVec bv = TOps.Select(mask, TOps.Load(pb + ki - w), z);
                    s0 = TOps.MulAdd(TOps.Load(a0 + ao + ki - w), bv, s0);
                    s1 = TOps.MulAdd(TOps.Load(a1 + ao + ki - w), bv, s1);
                    s2 = TOps.MulAdd(TOps.Load(a2 + ao + ki - w), bv, s2);
                    s3 = TOps.MulAdd(TOps.Load(a3 + ao + ki - w), bv, s3);
                }
            }
            T t0 = TOps.Sum(s0);
            *c0 = p.Accumulate ? *c0 + t0 : t0;
            if (mr > 1) { T t = TOps.Sum(s1); *c1 = p.Accumulate ? *c1 + t : t; }
            if (mr > 2) { T t = TOps.Sum(s2); *c2 = p.Accumulate ? *c2 + t : t; }
            if (mr > 3) { T t = TOps.Sum(s3); *c3 = p.Accumulate ? *c3 + t : t; }
        }
    }

    /// <summary>
    /// The float N == 1 case for many rows (e.g. Dense(1) over a batch): eight rows per pass, one 256-bit accumulator
    /// each, and one horizontal-add tree that turns the eight accumulators into the eight results at once (instead of
    /// a horizontal sum per row). k tail as in <see cref="Dot{T, TVec, TOps}"/>. Every row sums its products in the same
    /// order whatever M is, so a row's result does not depend on the batch it is in.
    /// </summary>
    private static void DotRows8(in GemmPlan<float> p)
    {
        int ki = p.K.Inner;
        int full = ki - ki % 8;
        bool tail = full != ki;
        Vector256<float> mask = tail ? TailMask256(full - (ki - 8)) : default;
        // the common case (one group, one-level k): whole groups of 8 rows addressed by the row stride
        int done = p.K.Outer == 1 && p.RowsPerGroup >= p.M ? p.M - p.M % 8 : 0;
        if (done > 0)
            DotRows8Simple(p.A, p.ARow, p.B, ki, p.C, p.CRow, done, p.Accumulate);
        if (done < p.M)
            DotRows8Cursor(p, new RowCursor<float>(p, done * p.ARow, done * p.CRow), p.M - done, mask, full, tail);
    }

    /// <summary>
    /// <see cref="DotRows8"/> for <paramref name="m"/> rows located through the plan's cursor: grouped plans (a
    /// convolution folding the batch into M), two-level k loops and the last M % 8 rows. A last group of fewer than 8
    /// rows repeats its last row in the unused slots (same loads, results dropped). The same per-row products, lanes
    /// and reduction as <see cref="DotRows8Simple"/>, so a row's result is the same whatever batch or group it is in.
    /// </summary>
    private static void DotRows8Cursor(in GemmPlan<float> p, RowCursor<float> cur, int m, Vector256<float> mask, int full, bool tail)
    {
        KLoop k = p.K;
        int ki = k.Inner;
        float** a = stackalloc float*[8];
        float** c = stackalloc float*[8];
        for (int r = 0; r < m; r += 8)
        {
            int cnt = Math.Min(8, m - r);
            for (int i = 0; i < 8; i++)
            {
                if (i < cnt) cur.Next(out a[i], out c[i]);
                else a[i] = a[cnt - 1];
            }
            Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
            for (int o = 0; o < k.Outer; o++)
            {
                nint ao = o * k.AOuter;
                float* pb = p.B + o * k.BOuter;
                // full vectors, then the overlapped tail vector at ki - 8 with B's already-counted lanes zeroed
                for (int q = 0; q < full + (tail ? 8 : 0); q += 8)
                {
                    bool last = q >= full;
                    nint at = last ? ki - 8 : q;
                    var bv = Vector256.Load(pb + at);
                    if (last) bv = Vector256.ConditionalSelect(mask, bv, Vector256<float>.Zero);
                    nint off = ao + at;
                    s0 = Fma8(Vector256.Load(a[0] + off), bv, s0);
                    s1 = Fma8(Vector256.Load(a[1] + off), bv, s1);
                    s2 = Fma8(Vector256.Load(a[2] + off), bv, s2);
                    s3 = Fma8(Vector256.Load(a[3] + off), bv, s3);
                    s4 = Fma8(Vector256.Load(a[4] + off), bv, s4);
                    s5 = Fma8(Vector256.Load(a[5] + off), bv, s5);
                    s6 = Fma8(Vector256.Load(a[6] + off), bv, s6);
                    s7 = Fma8(Vector256.Load(a[7] + off), bv, s7);
                }
            }
            var sum = Reduce8(s0, s1, s2, s3, s4, s5, s6, s7);
            for (int i = 0; i < cnt; i++) *c[i] = p.Accumulate ? *c[i] + sum.GetElement(i) : sum.GetElement(i);
        }
    }

    /// <summary>
    /// Full groups of eight rows of a one-level k loop (the common case): the same products, lanes and reduction as
    /// <see cref="DotRows8"/>, with the row offsets as multiples of the row stride and the masked B tail loaded once.
    /// </summary>
    private static void DotRows8Simple(float* a, nint ld, float* b, int ki, float* c, nint ldc, int m8, bool accumulate)
    {
        int full = ki - ki % 8;
        bool tail = full != ki;
        var bt = tail ? Vector256.ConditionalSelect(TailMask256(full - (ki - 8)), Vector256.Load(b + ki - 8), Vector256<float>.Zero) : default;
        for (int r = 0; r < m8; r += 8)
        {
            float* a0 = a + r * ld;
            Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
            for (int q = 0; q < full; q += 8)
            {
                var bv = Vector256.Load(b + q);
                float* x = a0 + q;
                s0 = Fma8(Vector256.Load(x), bv, s0);
                s1 = Fma8(Vector256.Load(x + ld), bv, s1);
                s2 = Fma8(Vector256.Load(x + 2 * ld), bv, s2);
                s3 = Fma8(Vector256.Load(x + 3 * ld), bv, s3);
                s4 = Fma8(Vector256.Load(x + 4 * ld), bv, s4);
                s5 = Fma8(Vector256.Load(x + 5 * ld), bv, s5);
                s6 = Fma8(Vector256.Load(x + 6 * ld), bv, s6);
                s7 = Fma8(Vector256.Load(x + 7 * ld), bv, s7);
            }
            if (tail)
            {
                float* x = a0 + ki - 8;
                s0 = Fma8(Vector256.Load(x), bt, s0);
                s1 = Fma8(Vector256.Load(x + ld), bt, s1);
                s2 = Fma8(Vector256.Load(x + 2 * ld), bt, s2);
                s3 = Fma8(Vector256.Load(x + 3 * ld), bt, s3);
                s4 = Fma8(Vector256.Load(x + 4 * ld), bt, s4);
                s5 = Fma8(Vector256.Load(x + 5 * ld), bt, s5);
                s6 = Fma8(Vector256.Load(x + 6 * ld), bt, s6);
                s7 = Fma8(Vector256.Load(x + 7 * ld), bt, s7);
            }
            StoreRows8(s0, s1, s2, s3, s4, s5, s6, s7, c + r * ldc, ldc, accumulate);
        }
    }

    /// <summary>The eight row results of eight accumulators (<see cref="Reduce8"/>), stored to rows 0..7 of c.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRows8(Vector256<float> s0, Vector256<float> s1, Vector256<float> s2, Vector256<float> s3,
        Vector256<float> s4, Vector256<float> s5, Vector256<float> s6, Vector256<float> s7, float* c, nint ldc, bool accumulate)
    {
        var sum = Reduce8(s0, s1, s2, s3, s4, s5, s6, s7);
        if (ldc == 1)
        {
            if (accumulate) sum += Vector256.Load(c);
            sum.Store(c);
        }
        else
        {
            for (int i = 0; i < 8; i++) c[i * ldc] = accumulate ? c[i * ldc] + sum.GetElement(i) : sum.GetElement(i);
        }
    }

    /// <summary>Lane l of the result is the sum of the lanes of s_l, in the same order for every l.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Reduce8(Vector256<float> s0, Vector256<float> s1, Vector256<float> s2, Vector256<float> s3,
        Vector256<float> s4, Vector256<float> s5, Vector256<float> s6, Vector256<float> s7)
    {
        var q0 = Avx.HorizontalAdd(Avx.HorizontalAdd(s0, s1), Avx.HorizontalAdd(s2, s3));
        var q1 = Avx.HorizontalAdd(Avx.HorizontalAdd(s4, s5), Avx.HorizontalAdd(s6, s7));
        return Avx.Permute2x128(q0, q1, 0x20) + Avx.Permute2x128(q0, q1, 0x31);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Fma8(Vector256<float> a, Vector256<float> b, Vector256<float> c)
        => Fma.IsSupported ? Fma.MultiplyAdd(a, b, c) : a * b + c;

    /// <summary>Sets the M x N rows addressed by the plan's C side to zero.</summary>
    public static void ClearRows<T>(in GemmPlan<T> p) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var cur = new RowCursor<T>(p, 0, 0);
        for (int r = 0; r < p.M; r++)
        {
            cur.Next(out _, out T* c);
            new Span<T>(c, p.N).Clear();
        }
    }

    private static void Run<T, TVec, TOps>(in GemmPlan<T> p)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
    {
        int w = TOps.Count;
        int n = p.N;
        Debug.Assert(n >= w);
        KLoop k = p.K;
        int kc = k.Outer == 1 ? KBlock : k.Inner;
        int nvec = (n + w - 1) / w;
        bool hasTail = n % w != 0;
        for (int q0 = 0; q0 < k.Inner; q0 += kc)
        {
            int kq = Math.Min(kc, k.Inner - q0);
            var kb = new KLoop(k.Outer, k.AOuter, k.BOuter, kq, k.AInner, k.BInner);
            nint aOff = q0 * k.AInner;
            T* b = p.B + q0 * k.BInner;
            bool acc = p.Accumulate || q0 > 0;
            int j = 0;
            int remaining = nvec;
            while (remaining > 0)
            {
                int nv = Math.Min(remaining, TOps.Wide);
                // With 16 registers the last three vectors form one 3-vector tile (12 accumulators, 3 B vectors,
                // 1 broadcast: all 16, no spill): a narrow product (n = 17..24, the backward h·Rᵀ of 20 units) would
                // otherwise run a 1-vector tile, latency-bound on 4 accumulators, and broadcast every A element twice.
                // Wider rows keep 2-vector tiles before it (3 + 3 + 2 + 2 for the weight gradients' 10 vectors measured
                // the same as 2 x 5: docs/performance.md).
                if (TOps.Wide == 2 && remaining == 3)
                    nv = 3;
                // Keep an overlapped tail vector inside a multi-vector tile (see StoreRow): never leave a lone
                // tail vector for the last chunk.
                if (hasTail && remaining - nv == 1 && nv > 1)
                    nv--;
                remaining -= nv;
                bool tail = remaining == 0 && hasTail;
                nint lastOff = tail ? n - w - j : (nv - 1) * w;
                TVec mask = tail ? TOps.TailMask(j + nv * w - n) : default;
                switch (nv)
                {
                    case 1: Rows<T, TVec, TOps, C1>(p, kb, aOff, b, j, lastOff, mask, tail, acc); break;
                    case 2: Rows<T, TVec, TOps, C2>(p, kb, aOff, b, j, lastOff, mask, tail, acc); break;
                    case 3: Rows<T, TVec, TOps, C3>(p, kb, aOff, b, j, lastOff, mask, tail, acc); break;
                    default: Rows<T, TVec, TOps, C4>(p, kb, aOff, b, j, lastOff, mask, tail, acc); break;
                }
                j += nv * w;
            }
        }
    }

    private static void Rows<T, TVec, TOps, TNv>(in GemmPlan<T> p, in KLoop k, nint aOff, T* b, int j,
        nint lastOff, TVec mask, bool tail, bool acc)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
        where TNv : IConst
    {
        var cur = new RowCursor<T>(p, aOff, j);
        b += j;
        int r = 0;
        int m = p.M;
        for (; r + 4 <= m; r += 4)
        {
            cur.Next(out T* a0, out T* c0);
            cur.Next(out T* a1, out T* c1);
            cur.Next(out T* a2, out T* c2);
            cur.Next(out T* a3, out T* c3);
            TileBody<T, TVec, TOps, C4, TNv>(a0, a1, a2, a3, b, lastOff, k, c0, c1, c2, c3, mask, tail, acc);
        }
        switch (m - r)
        {
            case 3:
            {
                cur.Next(out T* a0, out T* c0);
                cur.Next(out T* a1, out T* c1);
                cur.Next(out T* a2, out T* c2);
                Tile<T, TVec, TOps, C3, TNv>(a0, a1, a2, null, b, lastOff, k, c0, c1, c2, null, mask, tail, acc);
                break;
            }
            case 2:
            {
                cur.Next(out T* a0, out T* c0);
                cur.Next(out T* a1, out T* c1);
                Tile<T, TVec, TOps, C2, TNv>(a0, a1, null, null, b, lastOff, k, c0, c1, null, null, mask, tail, acc);
                break;
            }
            case 1:
            {
                cur.Next(out T* a0, out T* c0);
                Tile<T, TVec, TOps, C1, TNv>(a0, null, null, null, b, lastOff, k, c0, null, null, null, mask, tail, acc);
                break;
            }
        }
    }

    /// <summary>
    /// The micro-kernel: MR x NV vectors of accumulators kept in registers over the whole (two-level) k loop.
    /// Vector v of the tile sits at column offset v*W, except the last one which sits at <paramref name="lastOff"/>
    /// (equal to (NV-1)*W unless it is an overlapped tail, in which case <paramref name="tail"/> is set and
    /// <paramref name="mask"/> selects its new lanes).
    /// </summary>
    private static void Tile<T, TVec, TOps, TMr, TNv>(T* a0, T* a1, T* a2, T* a3, T* b, nint lastOff, in KLoop k,
        T* c0, T* c1, T* c2, T* c3, TVec mask, bool tail, bool acc)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
        where TMr : IConst
        where TNv : IConst
        => TileBody<T, TVec, TOps, TMr, TNv>(a0, a1, a2, a3, b, lastOff, k, c0, c1, c2, c3, mask, tail, acc);

    /// <summary>Body of <see cref="Tile"/>, inlined into the 4-row loop of <see cref="Rows"/> (no call per tile).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TileBody<T, TVec, TOps, TMr, TNv>(T* a0, T* a1, T* a2, T* a3, T* b, nint lastOff, in KLoop k,
        T* c0, T* c1, T* c2, T* c3, TVec mask, bool tail, bool acc)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
        where TMr : IConst
        where TNv : IConst
    {
        int w = TOps.Count;
        int mr = TMr.Value;
        int nv = TNv.Value;
        // Offsets of the 4 possible vectors; the last real one is lastOff.
        nint o0 = nv == 1 ? lastOff : 0;
        nint o1 = nv == 2 ? lastOff : w;
        nint o2 = nv == 3 ? lastOff : 2 * w;
        nint o3 = lastOff;

        TVec z = TOps.Zero;
        TVec s00 = z, s01 = z, s02 = z, s03 = z;
        TVec s10 = z, s11 = z, s12 = z, s13 = z;
        TVec s20 = z, s21 = z, s22 = z, s23 = z;
        TVec s30 = z, s31 = z, s32 = z, s33 = z;

        int ko = k.Outer, ki = k.Inner;
        nint aO = k.AOuter, aI = k.AInner, bO = k.BOuter, bI = k.BInner;
        for (int o = 0; o < ko; o++)
        {
            nint ai = o * aO;
            T* pb = b + o * bO;
            for (int q = 0; q < ki; q++)
            {
                TVec b0 = TOps.Load(pb + o0);
                TVec b1 = nv > 1 ? TOps.Load(pb + o1) : z;
                TVec b2 = nv > 2 ? TOps.Load(pb + o2) : z;
                TVec b3 = nv > 3 ? TOps.Load(pb + o3) : z;

                TVec x = TOps.Splat(a0[ai]);
                s00 = TOps.MulAdd(x, b0, s00);
                if (nv > 1) s01 = TOps.MulAdd(x, b1, s01);
                if (nv > 2) s02 = TOps.MulAdd(x, b2, s02);
                if (nv > 3) s03 = TOps.MulAdd(x, b3, s03);
                if (mr > 1)
                {
                    x = TOps.Splat(a1[ai]);
                    s10 = TOps.MulAdd(x, b0, s10);
                    if (nv > 1) s11 = TOps.MulAdd(x, b1, s11);
                    if (nv > 2) s12 = TOps.MulAdd(x, b2, s12);
                    if (nv > 3) s13 = TOps.MulAdd(x, b3, s13);
                }
                if (mr > 2)
                {
                    x = TOps.Splat(a2[ai]);
                    s20 = TOps.MulAdd(x, b0, s20);
                    if (nv > 1) s21 = TOps.MulAdd(x, b1, s21);
                    if (nv > 2) s22 = TOps.MulAdd(x, b2, s22);
                    if (nv > 3) s23 = TOps.MulAdd(x, b3, s23);
                }
                if (mr > 3)
                {
                    x = TOps.Splat(a3[ai]);
                    s30 = TOps.MulAdd(x, b0, s30);
                    if (nv > 1) s31 = TOps.MulAdd(x, b1, s31);
                    if (nv > 2) s32 = TOps.MulAdd(x, b2, s32);
                    if (nv > 3) s33 = TOps.MulAdd(x, b3, s33);
                }
                ai += aI;
                pb += bI;
            }
        }

        StoreRow<T, TVec, TOps, TNv>(c0, s00, s01, s02, s03, o0, o1, o2, o3, mask, tail, acc);
        if (mr > 1) StoreRow<T, TVec, TOps, TNv>(c1, s10, s11, s12, s13, o0, o1, o2, o3, mask, tail, acc);
        if (mr > 2) StoreRow<T, TVec, TOps, TNv>(c2, s20, s21, s22, s23, o0, o1, o2, o3, mask, tail, acc);
        if (mr > 3) StoreRow<T, TVec, TOps, TNv>(c3, s30, s31, s32, s33, o0, o1, o2, o3, mask, tail, acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow<T, TVec, TOps, TNv>(T* c, TVec v0, TVec v1, TVec v2, TVec v3,
        nint o0, nint o1, nint o2, nint o3, TVec mask, bool tail, bool acc)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
        where TNv : IConst
    {
        int nv = TNv.Value;
        if (nv > 1 && tail)
        {
            // Overlapped tail inside the tile: its old C is read before any store of this row (so the overlapped
            // lanes still hold the caller's values, and no load has to wait on a partially overlapping store);
            // those lanes then recompute exactly the value of the neighbouring vector (same products, same order,
            // same old C), so the full-width store is correct without a mask.
            TVec old = acc ? TOps.Load(c + LastOffset(nv, o1, o2, o3)) : TOps.Zero;
            Put<T, TVec, TOps>(c + o0, v0, acc);
            if (nv == 2) { TOps.Store(c + o1, acc ? TOps.Add(old, v1) : v1); return; }
            Put<T, TVec, TOps>(c + o1, v1, acc);
            if (nv == 3) { TOps.Store(c + o2, acc ? TOps.Add(old, v2) : v2); return; }
            Put<T, TVec, TOps>(c + o2, v2, acc);
            TOps.Store(c + o3, acc ? TOps.Add(old, v3) : v3);
            return;
        }
        // A lone tail vector (never produced by the chunk planner, kept as a safe fallback) uses a masked store:
        // the lanes it overlaps were finalised by an earlier pass and are kept by the mask.
        if (nv == 1) { Last<T, TVec, TOps>(c + o0, v0, mask, tail, acc); return; }
        Put<T, TVec, TOps>(c + o0, v0, acc);
        if (nv == 2) { Last<T, TVec, TOps>(c + o1, v1, mask, tail, acc); return; }
        Put<T, TVec, TOps>(c + o1, v1, acc);
        if (nv == 3) { Last<T, TVec, TOps>(c + o2, v2, mask, tail, acc); return; }
        Put<T, TVec, TOps>(c + o2, v2, acc);
        Last<T, TVec, TOps>(c + o3, v3, mask, tail, acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static nint LastOffset(int nv, nint o1, nint o2, nint o3) => nv == 2 ? o1 : nv == 3 ? o2 : o3;

    /// <summary>x · y lane by lane, one rounding each (never fused with the addition that follows).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static TVec MultiplyUnfused<T, TVec>(TVec x, TVec y) where T : unmanaged where TVec : struct
    {
        if (typeof(TVec) == typeof(Vector256<T>))
        {
            var p = Unsafe.As<TVec, Vector256<T>>(ref x) * Unsafe.As<TVec, Vector256<T>>(ref y);
            return Unsafe.As<Vector256<T>, TVec>(ref p);
        }
        if (typeof(TVec) == typeof(Vector128<T>))
        {
            var p = Unsafe.As<TVec, Vector128<T>>(ref x) * Unsafe.As<TVec, Vector128<T>>(ref y);
            return Unsafe.As<Vector128<T>, TVec>(ref p);
        }
        throw new NotSupportedException($"GemmCore.MultiplyUnfused: no {typeof(TVec).Name}.");
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Put<T, TVec, TOps>(T* c, TVec v, bool acc)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
    {
        if (acc)
            v = TOps.Add(TOps.Load(c), v);
        TOps.Store(c, v);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Last<T, TVec, TOps>(T* c, TVec v, TVec mask, bool tail, bool acc)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
    {
        if (!tail)
        {
            Put<T, TVec, TOps>(c, v, acc);
            return;
        }
        TVec old = TOps.Load(c);
        TVec sum = acc ? TOps.Add(old, v) : v;
        TOps.Store(c, TOps.Select(mask, sum, old));
    }

    /// <summary>The 256-bit float tail mask of <see cref="ISimd{T, TVec}.TailMask"/> (called outside a generic body).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> TailMask256(int skip) => TailMask<Vector256<float>, Simd256<float>>(skip);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVec TailMask<TVec, TS>(int skip) where TVec : struct where TS : struct, ISimd<float, TVec> => TS.TailMask(skip);
}
