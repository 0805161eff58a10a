using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using Rnnx.Simd;
using static Rnnx.Kernels.RecurrentKernels;
using Lanes1 = Rnnx.Kernels.OneRow<float, Rnnx.Simd.Scalar<float>>;
using Lanes4 = Rnnx.Kernels.OneRow<float, Rnnx.Simd.Simd128<float>>;
using Lanes8 = Rnnx.Kernels.OneRow<float, Rnnx.Simd.Simd256<float>>;
using Lanes16 = Rnnx.Kernels.OneRow<float, Rnnx.Simd.Simd512<float>>;

namespace Rnnx.Kernels;

/// <summary>The per-step element-wise kernels of the fused LSTM sequence (spans and integers; gate rows strided by their leading dimensions).</summary>
internal static class LstmKernels
{
    /// <summary>
    /// Inference on one series (the latency case): per step the matrix-vector product h·R and the gate math (two passes per
    /// row: gates and c, then h = o ⊙ tanh(c)) writing only c and h (no gate activations or tanh(c) are kept for a backward pass). The same operations in
    /// the same order as the batch path, so the same numbers.
    /// </summary>
    /// <param name="steps">T.</param>
    /// <param name="units">U.</param>
    /// <param name="a">x·W for every time index (T × 4U), overwritten with the pre-activations.</param>
    /// <param name="bias">The bias (4U).</param>
    /// <param name="r">The recurrent kernel (U × 4U).</param>
    /// <param name="h0">The initial hidden state (U).</param>
    /// <param name="c0">The initial cell state (U).</param>
    /// <param name="c">The cell sequence by processing step (T × U).</param>
    /// <param name="h">The hidden sequence by processing step (T × U).</param>
    /// <param name="goBackwards">Whether step k processes time T−1−k.</param>
    /// <param name="packed">
    /// Room for R packed for the steps' products, <see cref="OneSeriesPackedLength"/> elements computed on the thread
    /// (and team) that runs the steps; empty: the products read R's rows.
    /// </param>
    internal static void OneSeries(int steps, int units, Span<float> a, ReadOnlySpan<float> bias, ReadOnlySpan<float> r, ReadOnlySpan<float> h0,
        ReadOnlySpan<float> c0, Span<float> c, Span<float> h, bool goBackwards, Span<float> packed)
    {
        Debug.Assert(a.Length >= steps * 4 * units && c.Length >= steps * units && h.Length >= steps * units);
        Debug.Assert(bias.Length >= 4 * units && r.Length >= units * 4 * units && h0.Length >= units && c0.Length >= units);
        long need = packed.IsEmpty ? 0 : OneSeriesPackedLength(steps, units);
        if (packed.Length < need)
            throw new ArgumentException($"LstmKernels.OneSeries: {steps} steps of {units} units need {need} elements to pack R, not {packed.Length}.", nameof(packed));
        ref float room = ref need == 0 ? ref Unsafe.NullRef<float>() : ref FirstAs<float, float>(packed);
        OneSeries(steps, units, ref FirstAs<float, float>(a), ref FirstAs<float, float>(bias), ref FirstAs<float, float>(r),
            ref FirstAs<float, float>(h0), ref FirstAs<float, float>(c0), ref FirstAs<float, float>(c), ref FirstAs<float, float>(h), goBackwards, ref room);
    }

    /// <summary>
    /// Elements one series' steps need to read R packed (<see cref="GemvCore.Pack{T}"/>), 0 when they read R's rows:
    /// when R fits the 32 KiB L1 (up to 45 units) its strided rows cost nothing more, and packing costs about two
    /// steps' reads, so a sequence of one or two steps does not pack. The layout follows the split of the steps
    /// over the current thread's team (<see cref="OneSeriesParts"/>), so the length too.
    /// </summary>
    internal static long OneSeriesPackedLength(int steps, int units)
    {
        if (steps <= 2 || 16L * units * units <= 32 * 1024) return 0;
        int parts = OneSeriesParts(units);
        // room to start on a cache line, then R's 4U columns as one product, or four gate slots per part
        long total = AlignedArrays.Slack<float>();
        return parts == 1 ? total + GemvCore.PackedLength<float>(4 * units, units) : total + 4L * parts * GateSlot(parts, units);
    }

    /// <summary>
    /// Elements of each (part, gate) slot of a split series' packed R: the largest part's packed gate columns, rounded up
    /// to a cache line so that every slot starts on one (slot p·4 + g holds part p's columns of gate g).
    /// </summary>
    private static long GateSlot(int parts, int units)
    {
        long longest = 0;
        for (int p = 0; p < parts; p++)
        {
            var (u0, u1) = ParallelGemm.Block(units, parts, p, 8);
            longest = Math.Max(longest, GemvCore.PackedLength<float>(u1 - u0, units));
        }
        long line = AlignedArrays.Slack<float>();
        return (longest + line - 1) / line * line;
    }

    private static unsafe void OneSeries(int steps, int units, ref float a, ref float bias, ref float r, ref float h0, ref float c0,
        ref float c, ref float h, bool goBackwards, ref float packed)
    {
        int g4 = 4 * units;
        var (j8, j4) = SplitFloat(units);
        int j16 = SplitFloat16(units);
        fixed (float* pa = &a, pr = &r, ph = &h, ph0 = &h0, pp = &packed)
        {
            float* pk = pp == null ? null : AlignedArrays.CacheLine<float>((byte*)pp);
            int parts = OneSeriesParts(units);
            if (parts > 1)
            {
                fixed (float* pb = &bias, pc0 = &c0, pc = &c)
                    OneSeriesJob.Run(parts, steps, units, pa, pb, pr, ph0, pc0, pc, ph, goBackwards, pk);
                return;
            }
            if (pk != null) GemvCore.Pack(g4, units, pr, g4, pk);
            for (int k = 0; k < steps; k++)
            {
                int t = TimeOf(k, steps, goBackwards);
                float* at = pa + (nint)t * g4;
                float* hPrev = k == 0 ? ph0 : ph + (nint)(k - 1) * units;
                if (pk != null) GemvCore.RunPacked(g4, units, hPrev, 1, pk, at, true);
                else GemvCore.Run(g4, units, hPrev, 1, pr, g4, at, true);
                ref float cPrev = ref k == 0 ? ref c0 : ref Unsafe.Add(ref c, (k - 1) * units);
                ref float ck = ref Unsafe.Add(ref c, k * units);
                ref float hk = ref Unsafe.Add(ref h, k * units);
                ref float ar = ref Unsafe.AsRef<float>(at);
                Infer<Simd512<float>, Lanes16>(0, 1, units, ref ar, 0, ref bias, ref cPrev, 0, ref ck, 0, ref hk, 0, 0, j16);
                Infer<Simd256<float>, Lanes8>(0, 1, units, ref ar, 0, ref bias, ref cPrev, 0, ref ck, 0, ref hk, 0, j16, j8);
                Infer<Simd128<float>, Lanes4>(0, 1, units, ref ar, 0, ref bias, ref cPrev, 0, ref ck, 0, ref hk, 0, j8, j4);
                Infer<Scalar<float>, Lanes1>(0, 1, units, ref ar, 0, ref bias, ref cPrev, 0, ref ck, 0, ref hk, 0, j4, units);
            }
        }
    }

    /// <summary>
    /// Parts one series' steps are split into over the current thread's team: blocks of at least 32 units, and only
    /// when a step's product (U × 4U multiply-adds) is worth a hand-off.
    /// </summary>
    private static int OneSeriesParts(int units) =>
        4L * units * units < ParallelGemm.MinWork / 2 ? 1 : Math.Min(TeamBoard.CurrentSize, units / 32);

    /// <summary>
    /// One series split by units over the team: per step, part p computes the gate columns of its units (four
    /// matrix-vector products, one per gate block) and their gate math; the next step starts when every part is done
    /// (it needs the whole h). Unit blocks start at multiples of 8, so every unit keeps the unsplit kernel's 256-bit,
    /// 128-bit or scalar chunk (a part starting at 8 mod 16 evaluates 8 units in 256 bits that the unsplit kernel
    /// takes in a 512-bit vector: the gate math is lane-wise and the same operations at every width) and the products'
    /// columns the accumulation order of the unsplit kernel: the same numbers for any number of parts.
    /// </summary>
    private sealed unsafe class OneSeriesJob : TeamJob
    {
        [ThreadStatic]
        private static OneSeriesJob? t_job;

        private int _parts, _steps, _units, _k;
        private long _slot;
        private float* _a, _bias, _r, _h0, _c0, _c, _h, _packed;
        private bool _goBackwards;

        /// <summary>Runs the steps; with <paramref name="packed"/> (cache-line aligned) each part first packs its gates' columns of R there.</summary>
        public static void Run(int parts, int steps, int units, float* a, float* bias, float* r, float* h0, float* c0, float* c, float* h, bool goBackwards,
            float* packed)
        {
            var job = t_job ??= new OneSeriesJob();
            (job._parts, job._steps, job._units, job._goBackwards) = (parts, steps, units, goBackwards);
            job._a = a;
            job._bias = bias;
            job._r = r;
            job._h0 = h0;
            job._c0 = c0;
            job._c = c;
            job._h = h;
            job._packed = packed;
            job._slot = packed != null ? GateSlot(parts, units) : 0;
            if (packed != null)
            {
                job._k = -1;
                TeamBoard.For(parts, job);
            }
            for (int k = 0; k < steps; k++)
            {
                job._k = k;
                TeamBoard.For(parts, job);
            }
            job._a = job._bias = job._r = job._h0 = job._c0 = job._c = job._h = job._packed = null;
        }

        public override void Run(int part)
        {
            int u = _units, g4 = 4 * u, k = _k;
            var (u0, u1) = ParallelGemm.Block(u, _parts, part, 8);
            // the part's four gate slots (GateSlot)
            float* panels = _packed == null ? null : _packed + 4 * part * _slot;
            if (k < 0)
            {
                for (int gate = 0; gate < 4; gate++)
                    GemvCore.Pack(u1 - u0, u, _r + gate * u + u0, g4, panels + gate * _slot);
                return;
            }
            int t = TimeOf(k, _steps, _goBackwards);
            float* at = _a + (nint)t * g4;
            float* hPrev = k == 0 ? _h0 : _h + (nint)(k - 1) * u;
            // the other parts wrote their units of h on their own cores: ask for every line of it at once, so that the
            // products do not meet those misses one after the other (each a cross-core transfer); h's last float too,
            // for a row that does not start on a line
            if (Sse.IsSupported)
            {
                for (int j = 0; j < u; j += 16)
                    Sse.Prefetch0(hPrev + j);
                Sse.Prefetch0(hPrev + u - 1);
            }
            for (int gate = 0; gate < 4; gate++)
            {
                if (panels != null) GemvCore.RunPacked(u1 - u0, u, hPrev, 1, panels + gate * _slot, at + gate * u + u0, true);
                else GemvCore.Run(u1 - u0, u, hPrev, 1, _r + gate * u + u0, g4, at + gate * u + u0, true);
            }
            // the unsplit kernel's width split restricted to [u0, u1): u0 is a multiple of 8, so the 16-lane chunk takes
            // whole vectors from u0 (a unit's bits do not depend on the width of its chunk)
            var (j8, j4) = SplitFloat(u);
            int e8 = Math.Min(u1, j8), e4 = Math.Min(u1, j4);
            int e16 = u0 + (Math.Max(0, Math.Min(u1, SplitFloat16(u)) - u0) & ~15);   // whole 16-lane vectors from u0 only
            ref float ar = ref Unsafe.AsRef<float>(at);
            ref float bias = ref Unsafe.AsRef<float>(_bias);
            ref float cPrev = ref Unsafe.AsRef<float>(k == 0 ? _c0 : _c + (nint)(k - 1) * u);
            ref float ck = ref Unsafe.AsRef<float>(_c + (nint)k * u);
            ref float hk = ref Unsafe.AsRef<float>(_h + (nint)k * u);
            Infer<Simd512<float>, Lanes16>(0, 1, u, ref ar, 0, ref bias, ref cPrev, 0, ref ck, 0, ref hk, 0, u0, e16);
            Infer<Simd256<float>, Lanes8>(0, 1, u, ref ar, 0, ref bias, ref cPrev, 0, ref ck, 0, ref hk, 0, e16, e8);
            Infer<Simd128<float>, Lanes4>(0, 1, u, ref ar, 0, ref bias, ref cPrev, 0, ref ck, 0, ref hk, 0, Math.Max(u0, e8), e4);
            Infer<Scalar<float>, Lanes1>(0, 1, u, ref ar, 0, ref bias, ref cPrev, 0, ref ck, 0, ref hk, 0, Math.Max(u0, e4), u1);
        }
    }

    /// <summary>
    /// Inference on rows [b0, b1) (one series: b0 = 0, b1 = 1), units [j0, j1): the gate math writing only c and h
    /// (and σ(z_o) over the output gate's pre-activations in <paramref name="a"/>, a scratch the step owns).
    /// Compiled as a method of its own per width: inlined into OneSeries, the three widths' gate math together
    /// exhausts the JIT's inlining budget and the narrower widths end up calling every vector operation.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Infer<V, L>(int b0, int b1, int u, ref float a, int lda, ref float bias, ref float cPrev, int ldPrev,
        ref float c, int ldc, ref float h, int ldh, int j0, int j1)
        where V : struct, ISimdMath<V, float> where L : IRowLanes<float, V>
    {
        for (int b = b0; b < b1; b += L.Rows)
        {
            int b2 = b + L.Rows - 1;
            ref float ar = ref Unsafe.Add(ref a, (nint)b * lda);
            ref float ar2 = ref Unsafe.Add(ref a, (nint)b2 * lda);
            ref float cpr = ref Unsafe.Add(ref cPrev, (nint)b * ldPrev);
            ref float cpr2 = ref Unsafe.Add(ref cPrev, (nint)b2 * ldPrev);
            ref float cr = ref Unsafe.Add(ref c, (nint)b * ldc);
            ref float cr2 = ref Unsafe.Add(ref c, (nint)b2 * ldc);
            ref float hr = ref Unsafe.Add(ref h, (nint)b * ldh);
            ref float hr2 = ref Unsafe.Add(ref h, (nint)b2 * ldh);
            // two passes, as in the training forward: the gates and c (o kept in a's output-gate block), then
            // h = o ⊙ tanh(c); one pass chains tanh(c) behind the gates' sigmoids and tanh, a chain too long for the
            // out-of-order window to overlap with the next block's
            for (int j = j0; j < j1; j += V.Count / L.Rows)
            {
                Gates<float, V, L>(ref ar, ref ar2, ref bias, ref cpr, ref cpr2, false, ref bias, j, u, out _, out _, out _, out var og, out var cn);
                L.Store(og, ref ar, ref ar2, j + 3 * u);
                L.Store(cn, ref cr, ref cr2, j);
            }
            for (int j = j0; j < j1; j += V.Count / L.Rows)
                L.Store(L.Load(ref ar, ref ar2, j + 3 * u) * V.Tanh(L.Load(ref cr, ref cr2, j)), ref hr, ref hr2, j);
        }
    }

    /// <summary>
    /// The gate activations of units [j, j + V.Count / L.Rows) of the row(s) and the new cell state (shared by both
    /// forward passes). With <paramref name="peep"/>, the diagonal peephole weights p = [p_i, p_f, p_o] (3U) add
    /// p_i ⊙ cPrev and p_f ⊙ cPrev to the input and forget pre-activations and p_o ⊙ c (the new cell state) to the output gate's.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Gates<T, V, L>(ref T a, ref T a2, ref T bias, ref T cPrev, ref T cPrev2, bool peep, ref T p, int j, int u,
        out V i, out V f, out V g, out V og, out V cn)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> where V : struct, ISimdMath<V, T> where L : IRowLanes<T, V>
    {
        nint jf = j + u, jg = j + 2 * u, jo = j + 3 * u;
        var cp = L.Load(ref cPrev, ref cPrev2, j);
        var zi = L.Load(ref a, ref a2, j) + L.LoadShared(ref bias, j);
        var zf = L.Load(ref a, ref a2, jf) + L.LoadShared(ref bias, jf);
        if (peep)
        {
            zi += L.LoadShared(ref p, j) * cp;
            zf += L.LoadShared(ref p, jf) * cp;
        }
        i = V.Sigmoid(zi);
        f = V.Sigmoid(zf);
        g = V.Tanh(L.Load(ref a, ref a2, jg) + L.LoadShared(ref bias, jg));
        cn = f * cp + i * g;
        var zo = L.Load(ref a, ref a2, jo) + L.LoadShared(ref bias, jo);
        if (peep) zo += L.LoadShared(ref p, jg) * cn;
        og = V.Sigmoid(zo);
    }

    /// <summary>
    /// Inference on a block of rows (the time-major batch path): the gate math of <see cref="ForwardStep{T}"/> writing
    /// only c and h (no gate activations or tanh(c) are kept for a backward pass; <paramref name="a"/>'s output-gate
    /// columns are overwritten with σ(z_o)). Float32 only; the same operations per element as
    /// <see cref="ForwardStep{T}"/>, so the same numbers.
    /// </summary>
    internal static void InferenceStep(int rows, int u, Span<float> a, int lda, ReadOnlySpan<float> bias, ReadOnlySpan<float> cPrev, int ldPrev,
        Span<float> c, Span<float> h, int ldh) => InferenceStep(rows, u, a, lda, bias, cPrev, ldPrev, c, ldh, h, ldh);

    /// <summary><see cref="InferenceStep(int, int, Span{float}, int, ReadOnlySpan{float}, ReadOnlySpan{float}, int, Span{float}, Span{float}, int)"/> with c and h of different row strides.</summary>
    internal static void InferenceStep(int rows, int u, Span<float> a, int lda, ReadOnlySpan<float> bias, ReadOnlySpan<float> cPrev, int ldPrev,
        Span<float> c, int ldc, Span<float> h, int ldh)
    {
        if (rows > 0 && (bias.Length < 4 * u || a.Length < (rows - 1) * (long)lda + 4 * u || cPrev.Length < (rows - 1) * (long)ldPrev + u
            || c.Length < (rows - 1) * (long)ldc + u || h.Length < (rows - 1) * (long)ldh + u))
            throw new ArgumentException($"LstmKernels.InferenceStep: {rows} rows of {u} units (strides a {lda}, c_k-1 {ldPrev}, c {ldc}, h {ldh}) do not fit a ({a.Length}), the bias ({bias.Length}), c_k-1 ({cPrev.Length}), c ({c.Length}) or h ({h.Length}).");
        var (j8, j4) = SplitFloat(u);
        int paired = PairedRows(rows, j8, j4);
        ref float pa = ref FirstAs<float, float>(a);
        ref float pb = ref FirstAs<float, float>(bias);
        ref float pcp = ref FirstAs<float, float>(cPrev);
        ref float pc = ref FirstAs<float, float>(c);
        ref float ph = ref FirstAs<float, float>(h);
        int j16 = SplitFloat16(u);
        Infer<Simd512<float>, Lanes16>(0, rows, u, ref pa, lda, ref pb, ref pcp, ldPrev, ref pc, ldc, ref ph, ldh, 0, j16);
        Infer<Simd256<float>, Lanes8>(0, rows, u, ref pa, lda, ref pb, ref pcp, ldPrev, ref pc, ldc, ref ph, ldh, j16, j8);
        Infer<Simd256<float>, RowPair>(0, paired, u, ref pa, lda, ref pb, ref pcp, ldPrev, ref pc, ldc, ref ph, ldh, j8, j4);
        Infer<Simd128<float>, Lanes4>(paired, rows, u, ref pa, lda, ref pb, ref pcp, ldPrev, ref pc, ldc, ref ph, ldh, j8, j4);
        Infer<Scalar<float>, Lanes1>(0, rows, u, ref pa, lda, ref pb, ref pcp, ldPrev, ref pc, ldc, ref ph, ldh, j4, u);
    }

    /// <summary>
    /// In place on the step's gate rows a (rows × 4U, lda): z + b → [σ(z_i), σ(z_f), tanh(z_g), σ(z_o)]; then
    /// c = f ⊙ cPrev + i ⊙ g, tc = tanh(c), h = o ⊙ tc (c, tc, h with leading dimension ldh; tc not written when
    /// <paramref name="tc"/> is empty). With <paramref name="peephole"/> (3U: p_i, p_f, p_o; empty for none) the gates
    /// see the cell state as in <see cref="Gates"/>.
    /// </summary>
    internal static void ForwardStep<T>(int rows, int u, Span<T> a, int lda, ReadOnlySpan<T> bias, ReadOnlySpan<T> cPrev, int ldPrev,
        Span<T> c, Span<T> tc, Span<T> h, int ldh, ReadOnlySpan<T> peephole = default) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        bool keepTc = !tc.IsEmpty;
        if (!keepTc) tc = h;   // any valid reference; not written
        bool peep = !peephole.IsEmpty;
        Debug.Assert(!peep || peephole.Length >= 3 * u);
        if (!peep) peephole = bias;   // any valid reference; not read
        if (typeof(T) == typeof(float))
        {
            var (j8, j4) = SplitFloat(u);
            int paired = PairedRows(rows, j8, j4);
            ref float pa = ref FirstAs<T, float>(a);
            ref float pb = ref FirstAs<T, float>(bias);
            ref float pcp = ref FirstAs<T, float>(cPrev);
            ref float pc = ref FirstAs<T, float>(c);
            ref float ptc = ref FirstAs<T, float>(tc);
            ref float ph = ref FirstAs<T, float>(h);
            ref float pp = ref FirstAs<T, float>(peephole);
            int j16 = SplitFloat16(u);
            Fwd<float, Simd512<float>, Lanes16>(0, rows, u, ref pa, lda, ref pb, ref pcp, ldPrev, ref pc, keepTc, ref ptc, ref ph, ldh, peep, ref pp, 0, j16);
            Fwd<float, Simd256<float>, Lanes8>(0, rows, u, ref pa, lda, ref pb, ref pcp, ldPrev, ref pc, keepTc, ref ptc, ref ph, ldh, peep, ref pp, j16, j8);
            Fwd<float, Simd256<float>, RowPair>(0, paired, u, ref pa, lda, ref pb, ref pcp, ldPrev, ref pc, keepTc, ref ptc, ref ph, ldh, peep, ref pp, j8, j4);
            Fwd<float, Simd128<float>, Lanes4>(paired, rows, u, ref pa, lda, ref pb, ref pcp, ldPrev, ref pc, keepTc, ref ptc, ref ph, ldh, peep, ref pp, j8, j4);
            Fwd<float, Scalar<float>, Lanes1>(0, rows, u, ref pa, lda, ref pb, ref pcp, ldPrev, ref pc, keepTc, ref ptc, ref ph, ldh, peep, ref pp, j4, u);
        }
        else
        {
            Fwd<double, Scalar<double>, OneRow<double, Scalar<double>>>(0, rows, u, ref FirstAs<T, double>(a), lda, ref FirstAs<T, double>(bias), ref FirstAs<T, double>(cPrev), ldPrev,
                ref FirstAs<T, double>(c), keepTc, ref FirstAs<T, double>(tc), ref FirstAs<T, double>(h), ldh, peep, ref FirstAs<T, double>(peephole), 0, u);
        }
    }

    private static void Fwd<T, V, L>(int b0, int b1, int u, ref T a, int lda, ref T bias, ref T cPrev, int ldPrev, ref T c, bool keepTc, ref T tc, ref T h, int ldh,
        bool peep, ref T p, int j0, int j1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> where V : struct, ISimdMath<V, T> where L : IRowLanes<T, V>
    {
        for (int b = b0; b < b1; b += L.Rows)
        {
            int b2 = b + L.Rows - 1;
            ref T ar = ref Unsafe.Add(ref a, (nint)b * lda);
            ref T ar2 = ref Unsafe.Add(ref a, (nint)b2 * lda);
            ref T cpr = ref Unsafe.Add(ref cPrev, (nint)b * ldPrev);
            ref T cpr2 = ref Unsafe.Add(ref cPrev, (nint)b2 * ldPrev);
            nint o = (nint)b * ldh, o2 = (nint)b2 * ldh;
            ref T cr = ref Unsafe.Add(ref c, o);
            ref T cr2 = ref Unsafe.Add(ref c, o2);
            ref T tcr = ref Unsafe.Add(ref tc, o);
            ref T tcr2 = ref Unsafe.Add(ref tc, o2);
            ref T hr = ref Unsafe.Add(ref h, o);
            ref T hr2 = ref Unsafe.Add(ref h, o2);
            // two passes over the row: the gates and c, then h = o ⊙ tanh(c) from the o and c just stored (in L1). One
            // pass chains tanh(c) behind the gates' own sigmoid and tanh, too long a chain of dependent operations for
            // the out-of-order window to overlap with the next block's; apart, each pass overlaps its blocks.
            for (int j = j0; j < j1; j += V.Count / L.Rows)
            {
                nint jf = j + u, jg = j + 2 * u, jo = j + 3 * u;
                Gates<T, V, L>(ref ar, ref ar2, ref bias, ref cpr, ref cpr2, peep, ref p, j, u, out var i, out var f, out var g, out var og, out var cn);
                L.Store(i, ref ar, ref ar2, j);
                L.Store(f, ref ar, ref ar2, jf);
                L.Store(g, ref ar, ref ar2, jg);
                L.Store(og, ref ar, ref ar2, jo);
                L.Store(cn, ref cr, ref cr2, j);
            }
            for (int j = j0; j < j1; j += V.Count / L.Rows)
            {
                var t = V.Tanh(L.Load(ref cr, ref cr2, j));
                if (keepTc) L.Store(t, ref tcr, ref tcr2, j);
                L.Store(L.Load(ref ar, ref ar2, j + 3 * u) * t, ref hr, ref hr2, j);
            }
        }
    }

    /// <summary>
    /// One step back: dh = dH + dhNext, dc = dcNext (+ dC); do = dh ⊙ tc; dc += dh ⊙ o ⊙ (1 − tc²);
    /// dz = [dc ⊙ g ⊙ i(1−i), dc ⊙ cPrev ⊙ f(1−f), dc ⊙ i ⊙ (1−g²), do ⊙ o(1−o)] into dz (same layout as a);
    /// dcNext = dc ⊙ f (in place). With <paramref name="peephole"/> (3U: p_i, p_f, p_o; empty for none), the output
    /// gate's peephole adds dz_o ⊙ p_o to dc before the other gates use it, and dcNext gains dz_i ⊙ p_i + dz_f ⊙ p_f.
    /// With <paramref name="tanhOfTc"/>, <paramref name="tc"/> holds the cells c themselves and tanh(c) is taken here
    /// (the forward step's tanh: the same bits as a tc it wrote), saving the caller a pass over them.
    /// </summary>
    internal static void BackwardStep<T>(int rows, int u, ReadOnlySpan<T> dH, int ldh, ReadOnlySpan<T> dC, ReadOnlySpan<T> dhNext, Span<T> dcNext,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> tc, ReadOnlySpan<T> cPrev, int ldPrev, Span<T> dz, ReadOnlySpan<T> peephole = default, bool tanhOfTc = false)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        bool hasDc = !dC.IsEmpty;
        if (!hasDc) dC = dH;   // any valid reference; not read
        bool peep = !peephole.IsEmpty;
        Debug.Assert(!peep || peephole.Length >= 3 * u);
        if (!peep) peephole = dH;   // any valid reference; not read
        if (typeof(T) == typeof(float))
        {
            var (j8, j4) = SplitFloat(u);
            ref float pdH = ref FirstAs<T, float>(dH);
            ref float pdC = ref FirstAs<T, float>(dC);
            ref float pdh = ref FirstAs<T, float>(dhNext);
            ref float pdc = ref FirstAs<T, float>(dcNext);
            ref float pa = ref FirstAs<T, float>(a);
            ref float ptc = ref FirstAs<T, float>(tc);
            ref float pcp = ref FirstAs<T, float>(cPrev);
            ref float pdz = ref FirstAs<T, float>(dz);
            ref float pp = ref FirstAs<T, float>(peephole);
            // no row pairs here: the backward math is light, and joining and splitting the halves costs what the
            // shared evaluation saves (measured: docs/performance.md)
            int j16 = SplitFloat16(u);
            Bwd<float, Simd512<float>, Lanes16>(0, rows, u, ref pdH, ldh, hasDc, ref pdC, ref pdh, ref pdc, ref pa, lda, ref ptc, tanhOfTc, ref pcp, ldPrev, ref pdz, peep, ref pp, 0, j16);
            Bwd<float, Simd256<float>, Lanes8>(0, rows, u, ref pdH, ldh, hasDc, ref pdC, ref pdh, ref pdc, ref pa, lda, ref ptc, tanhOfTc, ref pcp, ldPrev, ref pdz, peep, ref pp, j16, j8);
            Bwd<float, Simd128<float>, Lanes4>(0, rows, u, ref pdH, ldh, hasDc, ref pdC, ref pdh, ref pdc, ref pa, lda, ref ptc, tanhOfTc, ref pcp, ldPrev, ref pdz, peep, ref pp, j8, j4);
            Bwd<float, Scalar<float>, Lanes1>(0, rows, u, ref pdH, ldh, hasDc, ref pdC, ref pdh, ref pdc, ref pa, lda, ref ptc, tanhOfTc, ref pcp, ldPrev, ref pdz, peep, ref pp, j4, u);
        }
        else
        {
            Bwd<double, Scalar<double>, OneRow<double, Scalar<double>>>(0, rows, u, ref FirstAs<T, double>(dH), ldh, hasDc, ref FirstAs<T, double>(dC), ref FirstAs<T, double>(dhNext), ref FirstAs<T, double>(dcNext),
                ref FirstAs<T, double>(a), lda, ref FirstAs<T, double>(tc), tanhOfTc, ref FirstAs<T, double>(cPrev), ldPrev, ref FirstAs<T, double>(dz),
                peep, ref FirstAs<T, double>(peephole), 0, u);
        }
    }

    /// <summary>
    /// Requests the cache lines that <see cref="BackwardStep{T}"/> will read for the next step down (its rows of the
    /// gate activations, tanh(c) — or the cells it is computed from in place —, the previous cell state and dH, each
    /// <paramref name="rows"/> rows strided by its leading dimension), so that they arrive while the current step's
    /// product runs: the backward pass reads a forward pass's buffers in reverse order, long after they left the
    /// caches. A hint only: never changes a value.
    /// </summary>
    internal static unsafe void PrefetchBackwardStep<T>(int rows, int u, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> tc, ReadOnlySpan<T> cPrev, int ldPrev,
        ReadOnlySpan<T> dH, int ldh) where T : unmanaged
    {
        if (!System.Runtime.Intrinsics.X86.Sse.IsSupported)
            return;
        fixed (T* pa = a)
        fixed (T* ptc = tc)
        fixed (T* pcp = cPrev)
        fixed (T* pdh = dH)
        {
            for (int b = 0; b < rows; b++)
            {
                PrefetchRow((byte*)(pa + (nint)b * lda), 4 * u * sizeof(T));
                PrefetchRow((byte*)(ptc + (nint)b * ldh), u * sizeof(T));
                PrefetchRow((byte*)(pcp + (nint)b * ldPrev), u * sizeof(T));
                PrefetchRow((byte*)(pdh + (nint)b * ldh), u * sizeof(T));
            }
        }
    }

    /// <summary>Prefetches every 64-byte line of [p, p + bytes).</summary>
    private static unsafe void PrefetchRow(byte* p, int bytes)
    {
        byte* end = p + bytes;
        for (byte* line = (byte*)((nint)p & ~63); line < end; line += 64)
            System.Runtime.Intrinsics.X86.Sse.Prefetch0(line);
    }

    private static void Bwd<T, V, L>(int b0, int b1, int u, ref T dH, int ldh, bool hasDc, ref T dC, ref T dhNext, ref T dcNext,
        ref T a, int lda, ref T tc, bool tanhOfTc, ref T cPrev, int ldPrev, ref T dz, bool peep, ref T p, int j0, int j1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> where V : struct, ISimdMath<V, T> where L : IRowLanes<T, V>
    {
        for (int b = b0; b < b1; b += L.Rows)
        {
            int b2 = b + L.Rows - 1;
            nint oh = (nint)b * ldh, on = (nint)b * u, oa = (nint)b * lda, op = (nint)b * ldPrev;
            nint oh2 = (nint)b2 * ldh, on2 = (nint)b2 * u, oa2 = (nint)b2 * lda, op2 = (nint)b2 * ldPrev;
            ref T dHr = ref Unsafe.Add(ref dH, oh);
            ref T dHr2 = ref Unsafe.Add(ref dH, oh2);
            ref T dCr = ref Unsafe.Add(ref dC, oh);
            ref T dCr2 = ref Unsafe.Add(ref dC, oh2);
            ref T tcr = ref Unsafe.Add(ref tc, oh);
            ref T tcr2 = ref Unsafe.Add(ref tc, oh2);
            ref T dhr = ref Unsafe.Add(ref dhNext, on);
            ref T dhr2 = ref Unsafe.Add(ref dhNext, on2);
            ref T dcr = ref Unsafe.Add(ref dcNext, on);
            ref T dcr2 = ref Unsafe.Add(ref dcNext, on2);
            ref T ar = ref Unsafe.Add(ref a, oa);
            ref T ar2 = ref Unsafe.Add(ref a, oa2);
            ref T dzr = ref Unsafe.Add(ref dz, oa);
            ref T dzr2 = ref Unsafe.Add(ref dz, oa2);
            ref T cpr = ref Unsafe.Add(ref cPrev, op);
            ref T cpr2 = ref Unsafe.Add(ref cPrev, op2);
            for (int j = j0; j < j1; j += V.Count / L.Rows)
            {
                nint jf = j + u, jg = j + 2 * u, jo = j + 3 * u;
                var dh = L.Load(ref dHr, ref dHr2, j) + L.Load(ref dhr, ref dhr2, j);
                var dc = L.Load(ref dcr, ref dcr2, j);
                if (hasDc) dc += L.Load(ref dCr, ref dCr2, j);
                var i = L.Load(ref ar, ref ar2, j);
                var f = L.Load(ref ar, ref ar2, jf);
                var g = L.Load(ref ar, ref ar2, jg);
                var og = L.Load(ref ar, ref ar2, jo);
                var t = L.Load(ref tcr, ref tcr2, j);
                if (tanhOfTc) t = V.Tanh(t);
                var dog = dh * t;
                var dzo = dog * og * (V.One - og);
                dc += dh * og * (V.One - t * t);
                if (peep) dc += dzo * L.LoadShared(ref p, jg);
                var dzi = dc * g * i * (V.One - i);
                var dzf = dc * L.Load(ref cpr, ref cpr2, j) * f * (V.One - f);
                L.Store(dzi, ref dzr, ref dzr2, j);
                L.Store(dzf, ref dzr, ref dzr2, jf);
                L.Store(dc * i * (V.One - g * g), ref dzr, ref dzr2, jg);
                L.Store(dzo, ref dzr, ref dzr2, jo);
                var dcPrev = dc * f;
                if (peep) dcPrev += dzi * L.LoadShared(ref p, j) + dzf * L.LoadShared(ref p, jf);
                L.Store(dcPrev, ref dcr, ref dcr2, j);
            }
        }
    }

    /// <summary>
    /// Adds one step's peephole weight gradients into gp (3U): gp_i += Σ_rows dz_i ⊙ cPrev, gp_f += Σ_rows dz_f ⊙ cPrev,
    /// gp_o += Σ_rows dz_o ⊙ c (dz as written by <see cref="BackwardStep"/>, rows × 4U with leading dimension ldz).
    /// </summary>
    internal static void AccumulatePeepholeGradient<T>(int rows, int u, ReadOnlySpan<T> dz, int ldz, ReadOnlySpan<T> cPrev, int ldPrev,
        ReadOnlySpan<T> c, int ldc, Span<T> gp) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Debug.Assert(gp.Length >= 3 * u);
        if (typeof(T) == typeof(float))
        {
            var (j8, j4) = SplitFloat(u);
            ref float pdz = ref FirstAs<T, float>(dz);
            ref float pcp = ref FirstAs<T, float>(cPrev);
            ref float pc = ref FirstAs<T, float>(c);
            ref float pg = ref FirstAs<T, float>(gp);
            PeepGrad<float, Simd256<float>>(rows, u, ref pdz, ldz, ref pcp, ldPrev, ref pc, ldc, ref pg, 0, j8);
            PeepGrad<float, Simd128<float>>(rows, u, ref pdz, ldz, ref pcp, ldPrev, ref pc, ldc, ref pg, j8, j4);
            PeepGrad<float, Scalar<float>>(rows, u, ref pdz, ldz, ref pcp, ldPrev, ref pc, ldc, ref pg, j4, u);
        }
        else
        {
            PeepGrad<double, Scalar<double>>(rows, u, ref FirstAs<T, double>(dz), ldz, ref FirstAs<T, double>(cPrev), ldPrev,
                ref FirstAs<T, double>(c), ldc, ref FirstAs<T, double>(gp), 0, u);
        }
    }

    private static void PeepGrad<T, V>(int rows, int u, ref T dz, int ldz, ref T cPrev, int ldPrev, ref T c, int ldc, ref T gp, int j0, int j1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> where V : struct, ISimdMath<V, T>
    {
        for (int b = 0; b < rows; b++)
        {
            ref T dzr = ref Unsafe.Add(ref dz, (nint)b * ldz);
            ref T cpr = ref Unsafe.Add(ref cPrev, (nint)b * ldPrev);
            ref T cr = ref Unsafe.Add(ref c, (nint)b * ldc);
            for (int j = j0; j < j1; j += V.Count)
            {
                nint jf = j + u, jg = j + 2 * u, jo = j + 3 * u;
                var cp = V.Load(ref cpr, j);
                V.Store(V.Load(ref gp, j) + V.Load(ref dzr, j) * cp, ref gp, j);
                V.Store(V.Load(ref gp, jf) + V.Load(ref dzr, jf) * cp, ref gp, jf);
                V.Store(V.Load(ref gp, jg) + V.Load(ref dzr, jo) * V.Load(ref cr, j), ref gp, jg);
            }
        }
    }
}
