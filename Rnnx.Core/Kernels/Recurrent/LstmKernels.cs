using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using Rnnx.Simd;
using static Rnnx.Kernels.RecurrentKernels;

namespace Rnnx.Kernels;

/// <summary>The per-step element-wise kernels of the fused LSTM sequence (spans and integers; gate rows strided by their leading dimensions).</summary>
internal static class LstmKernels
{
    /// <summary>
    /// Inference on one series (the latency case): per step the matrix-vector product h·R and one pass over the units
    /// that writes only c and h (no gate activations or tanh(c) are kept for a backward pass). The same operations in
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
    internal static void OneSeries(int steps, int units, Span<float> a, ReadOnlySpan<float> bias, ReadOnlySpan<float> r, ReadOnlySpan<float> h0,
        ReadOnlySpan<float> c0, Span<float> c, Span<float> h, bool goBackwards)
    {
        Debug.Assert(a.Length >= steps * 4 * units && c.Length >= steps * units && h.Length >= steps * units);
        Debug.Assert(bias.Length >= 4 * units && r.Length >= units * 4 * units && h0.Length >= units && c0.Length >= units);
        OneSeries(steps, units, ref FirstAs<float, float>(a), ref FirstAs<float, float>(bias), ref FirstAs<float, float>(r),
            ref FirstAs<float, float>(h0), ref FirstAs<float, float>(c0), ref FirstAs<float, float>(c), ref FirstAs<float, float>(h), goBackwards);
    }

    private static unsafe void OneSeries(int steps, int units, ref float a, ref float bias, ref float r, ref float h0, ref float c0,
        ref float c, ref float h, bool goBackwards)
    {
        int g4 = 4 * units;
        var (j8, j4) = SplitFloat(units);
        fixed (float* pa = &a, pr = &r, ph = &h, ph0 = &h0)
        {
            int parts = OneSeriesParts(units);
            if (parts > 1)
            {
                fixed (float* pb = &bias, pc0 = &c0, pc = &c)
                    OneSeriesJob.Run(parts, steps, units, pa, pb, pr, ph0, pc0, pc, ph, goBackwards);
                return;
            }
            for (int k = 0; k < steps; k++)
            {
                int t = TimeOf(k, steps, goBackwards);
                float* at = pa + (nint)t * g4;
                float* hPrev = k == 0 ? ph0 : ph + (nint)(k - 1) * units;
                GemvCore.Run(g4, units, hPrev, 1, pr, g4, at, true);
                ref float cPrev = ref k == 0 ? ref c0 : ref Unsafe.Add(ref c, (k - 1) * units);
                ref float ck = ref Unsafe.Add(ref c, k * units);
                ref float hk = ref Unsafe.Add(ref h, k * units);
                ref float ar = ref Unsafe.AsRef<float>(at);
                Step<Simd256<float>>(units, ref ar, ref bias, ref cPrev, ref ck, ref hk, 0, j8);
                Step<Simd128<float>>(units, ref ar, ref bias, ref cPrev, ref ck, ref hk, j8, j4);
                Step<Scalar<float>>(units, ref ar, ref bias, ref cPrev, ref ck, ref hk, j4, units);
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
    /// (it needs the whole h). Unit blocks start at multiples of 8, so every unit gets the vector widths and the
    /// products' columns the accumulation order of the unsplit kernel: the same numbers for any number of parts.
    /// </summary>
    private sealed unsafe class OneSeriesJob : TeamJob
    {
        [ThreadStatic]
        private static OneSeriesJob? t_job;

        private int _parts, _steps, _units, _k;
        private float* _a, _bias, _r, _h0, _c0, _c, _h;
        private bool _goBackwards;

        public static void Run(int parts, int steps, int units, float* a, float* bias, float* r, float* h0, float* c0, float* c, float* h, bool goBackwards)
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
            for (int k = 0; k < steps; k++)
            {
                job._k = k;
                TeamBoard.For(parts, job);
            }
            job._a = job._bias = job._r = job._h0 = job._c0 = job._c = job._h = null;
        }

        public override void Run(int part)
        {
            int u = _units, g4 = 4 * u, k = _k;
            var (u0, u1) = ParallelGemm.Block(u, _parts, part, 8);
            int t = TimeOf(k, _steps, _goBackwards);
            float* at = _a + (nint)t * g4;
            float* hPrev = k == 0 ? _h0 : _h + (nint)(k - 1) * u;
            for (int gate = 0; gate < 4; gate++)
                GemvCore.Run(u1 - u0, u, hPrev, 1, _r + gate * u + u0, g4, at + gate * u + u0, true);
            // the unsplit kernel's width split restricted to [u0, u1): u0 is a multiple of 8
            var (j8, j4) = SplitFloat(u);
            int e8 = Math.Min(u1, j8), e4 = Math.Min(u1, j4);
            ref float ar = ref Unsafe.AsRef<float>(at);
            ref float bias = ref Unsafe.AsRef<float>(_bias);
            ref float cPrev = ref Unsafe.AsRef<float>(k == 0 ? _c0 : _c + (nint)(k - 1) * u);
            ref float ck = ref Unsafe.AsRef<float>(_c + (nint)k * u);
            ref float hk = ref Unsafe.AsRef<float>(_h + (nint)k * u);
            Step<Simd256<float>>(u, ref ar, ref bias, ref cPrev, ref ck, ref hk, u0, e8);
            Step<Simd128<float>>(u, ref ar, ref bias, ref cPrev, ref ck, ref hk, Math.Max(u0, e8), e4);
            Step<Scalar<float>>(u, ref ar, ref bias, ref cPrev, ref ck, ref hk, Math.Max(u0, e4), u1);
        }
    }

    // Compiled as a method of its own per width: inlined into OneSeries, the three widths' gate math together
    // exhausts the JIT's inlining budget and the narrower widths end up calling every vector operation.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Step<V>(int u, ref float a, ref float bias, ref float cPrev, ref float c, ref float h, int j0, int j1)
        where V : struct, ISimdMath<V, float>
    {
        for (int j = j0; j < j1; j += V.Count)
        {
            Gates<float, V>(ref a, ref bias, ref cPrev, j, u, out _, out _, out _, out var og, out var cn);
            V.Store(cn, ref c, j);
            V.Store(og * V.Tanh(cn), ref h, j);
        }
    }

    /// <summary>The gate activations of units [j, j + V.Count) of one row and the new cell state (shared by both forward passes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Gates<T, V>(ref T a, ref T bias, ref T cPrev, int j, int u, out V i, out V f, out V g, out V og, out V cn)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> where V : struct, ISimdMath<V, T>
    {
        nint jf = j + u, jg = j + 2 * u, jo = j + 3 * u;
        i = V.Sigmoid(V.Load(ref a, j) + V.Load(ref bias, j));
        f = V.Sigmoid(V.Load(ref a, jf) + V.Load(ref bias, jf));
        g = V.Tanh(V.Load(ref a, jg) + V.Load(ref bias, jg));
        og = V.Sigmoid(V.Load(ref a, jo) + V.Load(ref bias, jo));
        cn = f * V.Load(ref cPrev, j) + i * g;
    }

    /// <summary>
    /// Inference on a block of rows (the time-major batch path): the gate math of <see cref="ForwardStep{T}"/> writing
    /// only c and h (no gate activations or tanh(c) are kept for a backward pass). Float32 only; the same operations
    /// per element as <see cref="ForwardStep{T}"/>, so the same numbers.
    /// </summary>
    internal static void InferenceStep(int rows, int u, Span<float> a, int lda, ReadOnlySpan<float> bias, ReadOnlySpan<float> cPrev, int ldPrev,
        Span<float> c, Span<float> h, int ldh)
    {
        Debug.Assert(rows == 0 || (a.Length >= (rows - 1) * lda + 4 * u && c.Length >= (rows - 1) * ldh + u && h.Length >= (rows - 1) * ldh + u));
        var (j8, j4) = SplitFloat(u);
        ref float pb = ref FirstAs<float, float>(bias);
        for (int r = 0; r < rows; r++)
        {
            ref float ar = ref Unsafe.Add(ref FirstAs<float, float>(a), (nint)r * lda);
            ref float cp = ref Unsafe.Add(ref FirstAs<float, float>(cPrev), (nint)r * ldPrev);
            ref float cr = ref Unsafe.Add(ref FirstAs<float, float>(c), (nint)r * ldh);
            ref float hr = ref Unsafe.Add(ref FirstAs<float, float>(h), (nint)r * ldh);
            Step<Simd256<float>>(u, ref ar, ref pb, ref cp, ref cr, ref hr, 0, j8);
            Step<Simd128<float>>(u, ref ar, ref pb, ref cp, ref cr, ref hr, j8, j4);
            Step<Scalar<float>>(u, ref ar, ref pb, ref cp, ref cr, ref hr, j4, u);
        }
    }

    /// <summary>
    /// In place on the step's gate rows a (rows × 4U, lda): z + b → [σ(z_i), σ(z_f), tanh(z_g), σ(z_o)]; then
    /// c = f ⊙ cPrev + i ⊙ g, tc = tanh(c), h = o ⊙ tc (c, tc, h with leading dimension ldh).
    /// </summary>
    internal static void ForwardStep<T>(int rows, int u, Span<T> a, int lda, ReadOnlySpan<T> bias, ReadOnlySpan<T> cPrev, int ldPrev,
        Span<T> c, Span<T> tc, Span<T> h, int ldh) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float))
        {
            var (j8, j4) = SplitFloat(u);
            ref float pa = ref FirstAs<T, float>(a);
            ref float pb = ref FirstAs<T, float>(bias);
            ref float pcp = ref FirstAs<T, float>(cPrev);
            ref float pc = ref FirstAs<T, float>(c);
            ref float ptc = ref FirstAs<T, float>(tc);
            ref float ph = ref FirstAs<T, float>(h);
            Fwd<float, Simd256<float>>(rows, u, ref pa, lda, ref pb, ref pcp, ldPrev, ref pc, ref ptc, ref ph, ldh, 0, j8);
            Fwd<float, Simd128<float>>(rows, u, ref pa, lda, ref pb, ref pcp, ldPrev, ref pc, ref ptc, ref ph, ldh, j8, j4);
            Fwd<float, Scalar<float>>(rows, u, ref pa, lda, ref pb, ref pcp, ldPrev, ref pc, ref ptc, ref ph, ldh, j4, u);
        }
        else
        {
            Fwd<double, Scalar<double>>(rows, u, ref FirstAs<T, double>(a), lda, ref FirstAs<T, double>(bias), ref FirstAs<T, double>(cPrev), ldPrev,
                ref FirstAs<T, double>(c), ref FirstAs<T, double>(tc), ref FirstAs<T, double>(h), ldh, 0, u);
        }
    }

    private static void Fwd<T, V>(int rows, int u, ref T a, int lda, ref T bias, ref T cPrev, int ldPrev, ref T c, ref T tc, ref T h, int ldh, int j0, int j1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> where V : struct, ISimdMath<V, T>
    {
        for (int b = 0; b < rows; b++)
        {
            ref T ar = ref Unsafe.Add(ref a, (nint)b * lda);
            ref T cpr = ref Unsafe.Add(ref cPrev, (nint)b * ldPrev);
            nint o = (nint)b * ldh;
            ref T cr = ref Unsafe.Add(ref c, o);
            ref T tcr = ref Unsafe.Add(ref tc, o);
            ref T hr = ref Unsafe.Add(ref h, o);
            for (int j = j0; j < j1; j += V.Count)
            {
                nint jf = j + u, jg = j + 2 * u, jo = j + 3 * u;
                Gates<T, V>(ref ar, ref bias, ref cpr, j, u, out var i, out var f, out var g, out var og, out var cn);
                var t = V.Tanh(cn);
                V.Store(i, ref ar, j);
                V.Store(f, ref ar, jf);
                V.Store(g, ref ar, jg);
                V.Store(og, ref ar, jo);
                V.Store(cn, ref cr, j);
                V.Store(t, ref tcr, j);
                V.Store(og * t, ref hr, j);
            }
        }
    }

    /// <summary>
    /// One step back: dh = dH + dhNext, dc = dcNext (+ dC); do = dh ⊙ tc; dc += dh ⊙ o ⊙ (1 − tc²);
    /// dz = [dc ⊙ g ⊙ i(1−i), dc ⊙ cPrev ⊙ f(1−f), dc ⊙ i ⊙ (1−g²), do ⊙ o(1−o)] into dz (same layout as a);
    /// dcNext = dc ⊙ f (in place).
    /// </summary>
    internal static void BackwardStep<T>(int rows, int u, ReadOnlySpan<T> dH, int ldh, ReadOnlySpan<T> dC, ReadOnlySpan<T> dhNext, Span<T> dcNext,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> tc, ReadOnlySpan<T> cPrev, int ldPrev, Span<T> dz) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        bool hasDc = !dC.IsEmpty;
        if (!hasDc) dC = dH;   // any valid reference; not read
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
            Bwd<float, Simd256<float>>(rows, u, ref pdH, ldh, hasDc, ref pdC, ref pdh, ref pdc, ref pa, lda, ref ptc, ref pcp, ldPrev, ref pdz, 0, j8);
            Bwd<float, Simd128<float>>(rows, u, ref pdH, ldh, hasDc, ref pdC, ref pdh, ref pdc, ref pa, lda, ref ptc, ref pcp, ldPrev, ref pdz, j8, j4);
            Bwd<float, Scalar<float>>(rows, u, ref pdH, ldh, hasDc, ref pdC, ref pdh, ref pdc, ref pa, lda, ref ptc, ref pcp, ldPrev, ref pdz, j4, u);
        }
        else
        {
            Bwd<double, Scalar<double>>(rows, u, ref FirstAs<T, double>(dH), ldh, hasDc, ref FirstAs<T, double>(dC), ref FirstAs<T, double>(dhNext), ref FirstAs<T, double>(dcNext),
                ref FirstAs<T, double>(a), lda, ref FirstAs<T, double>(tc), ref FirstAs<T, double>(cPrev), ldPrev, ref FirstAs<T, double>(dz), 0, u);
        }
    }

    private static void Bwd<T, V>(int rows, int u, ref T dH, int ldh, bool hasDc, ref T dC, ref T dhNext, ref T dcNext,
        ref T a, int lda, ref T tc, ref T cPrev, int ldPrev, ref T dz, int j0, int j1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> where V : struct, ISimdMath<V, T>
    {
        for (int b = 0; b < rows; b++)
        {
            nint oh = (nint)b * ldh, on = (nint)b * u, oa = (nint)b * lda;
            ref T dHr = ref Unsafe.Add(ref dH, oh);
            ref T dCr = ref Unsafe.Add(ref dC, oh);
            ref T tcr = ref Unsafe.Add(ref tc, oh);
            ref T dhr = ref Unsafe.Add(ref dhNext, on);
            ref T dcr = ref Unsafe.Add(ref dcNext, on);
            ref T ar = ref Unsafe.Add(ref a, oa);
            ref T dzr = ref Unsafe.Add(ref dz, oa);
            ref T cpr = ref Unsafe.Add(ref cPrev, (nint)b * ldPrev);
            for (int j = j0; j < j1; j += V.Count)
            {
                nint jf = j + u, jg = j + 2 * u, jo = j + 3 * u;
                var dh = V.Load(ref dHr, j) + V.Load(ref dhr, j);
                var dc = V.Load(ref dcr, j);
                if (hasDc) dc += V.Load(ref dCr, j);
                var i = V.Load(ref ar, j);
                var f = V.Load(ref ar, jf);
                var g = V.Load(ref ar, jg);
                var og = V.Load(ref ar, jo);
                var t = V.Load(ref tcr, j);
                var dog = dh * t;
                dc += dh * og * (V.One - t * t);
                V.Store(dc * g * i * (V.One - i), ref dzr, j);
                V.Store(dc * V.Load(ref cpr, j) * f * (V.One - f), ref dzr, jf);
                V.Store(dc * i * (V.One - g * g), ref dzr, jg);
                V.Store(dog * og * (V.One - og), ref dzr, jo);
                V.Store(dc * f, ref dcr, j);
            }
        }
    }
}
