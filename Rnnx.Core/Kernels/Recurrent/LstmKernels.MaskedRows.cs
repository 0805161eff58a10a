using System.Numerics;
using System.Runtime.CompilerServices;
using Rnnx.Simd;
using static Rnnx.Kernels.RecurrentKernels;
using Lanes1 = Rnnx.Kernels.OneRow<float, Rnnx.Simd.Scalar<float>>;
using Lanes4 = Rnnx.Kernels.OneRow<float, Rnnx.Simd.Simd128<float>>;
using Lanes8 = Rnnx.Kernels.OneRow<float, Rnnx.Simd.Simd256<float>>;

namespace Rnnx.Kernels;

internal static partial class LstmKernels
{
    /// <summary>
    /// <see cref="ForwardStep{T}"/> that also writes the next step's recurrent-dropout rows: hm[b, g·U + j] = h[b, j] ·
    /// m_g[b, j] for the four gates, right after the row's h (in L1; m: the step's mask rows, gate g's at column g·U of row b,
    /// rows <paramref name="ldm"/> apart; hm rows <paramref name="ldhm"/> apart). The same h as <see cref="ForwardStep{T}"/>
    /// (the same operations) and each masked value one rounded product, as <see cref="MaskedRowKernels.MultiplyGates{T}"/>
    /// computes it from the stored h: the next step's masked product reads the same bits without a pass of its own.
    /// The scalar twin is <see cref="Reference.ReferenceRecurrent.LstmForwardStepMaskedRows{T}"/>.
    /// </summary>
    internal static void ForwardStepMaskedRows<T>(int rows, int u, Span<T> a, int lda, ReadOnlySpan<T> bias, ReadOnlySpan<T> cPrev, int ldPrev,
        Span<T> c, Span<T> tc, Span<T> h, int ldh, ReadOnlySpan<T> masks, int ldm, Span<T> hm, int ldhm, ReadOnlySpan<T> peephole = default)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (rows == 0 || u == 0) return;
        // the loops run on raw references: a short span fails here instead of writing past its end
        if (a.Length < (long)(rows - 1) * lda + 4 * u || bias.Length < 4 * u || cPrev.Length < (long)(rows - 1) * ldPrev + u
            || c.Length < (long)(rows - 1) * ldh + u || h.Length < (long)(rows - 1) * ldh + u || (!tc.IsEmpty && tc.Length < (long)(rows - 1) * ldh + u)
            || masks.Length < (long)(rows - 1) * ldm + 4 * u || hm.Length < (long)(rows - 1) * ldhm + 4 * u || (!peephole.IsEmpty && peephole.Length < 3 * u))
            throw new ArgumentException($"LstmKernels.ForwardStepMaskedRows: a span is shorter than {rows} rows of {u} units and their strides need.");
        bool keepTc = !tc.IsEmpty;
        if (!keepTc) tc = h;   // any valid reference; not written
        bool peep = !peephole.IsEmpty;
        if (!peep) peephole = bias;   // any valid reference; not read
        if (typeof(T) == typeof(float))
        {
            var (j8, j4) = SplitFloat(u);
            int paired = PairedRows(rows, j8, j4);
            var s = new MaskedRowsOut<float>(ref FirstAs<T, float>(masks), ldm, ref FirstAs<T, float>(hm), ldhm);
            ref float pa = ref FirstAs<T, float>(a);
            ref float pb = ref FirstAs<T, float>(bias);
            ref float pcp = ref FirstAs<T, float>(cPrev);
            ref float pc = ref FirstAs<T, float>(c);
            ref float ptc = ref FirstAs<T, float>(tc);
            ref float ph = ref FirstAs<T, float>(h);
            ref float pp = ref FirstAs<T, float>(peephole);
            FwdMasked<float, Simd256<float>, Lanes8>(0, rows, u, ref pa, lda, ref pb, ref pcp, ldPrev, ref pc, keepTc, ref ptc, ref ph, ldh, peep, ref pp, s, 0, j8);
            FwdMasked<float, Simd256<float>, RowPair>(0, paired, u, ref pa, lda, ref pb, ref pcp, ldPrev, ref pc, keepTc, ref ptc, ref ph, ldh, peep, ref pp, s, j8, j4);
            FwdMasked<float, Simd128<float>, Lanes4>(paired, rows, u, ref pa, lda, ref pb, ref pcp, ldPrev, ref pc, keepTc, ref ptc, ref ph, ldh, peep, ref pp, s, j8, j4);
            FwdMasked<float, Scalar<float>, Lanes1>(0, rows, u, ref pa, lda, ref pb, ref pcp, ldPrev, ref pc, keepTc, ref ptc, ref ph, ldh, peep, ref pp, s, j4, u);
        }
        else
        {
            var s = new MaskedRowsOut<double>(ref FirstAs<T, double>(masks), ldm, ref FirstAs<T, double>(hm), ldhm);
            FwdMasked<double, Scalar<double>, OneRow<double, Scalar<double>>>(0, rows, u, ref FirstAs<T, double>(a), lda, ref FirstAs<T, double>(bias),
                ref FirstAs<T, double>(cPrev), ldPrev, ref FirstAs<T, double>(c), keepTc, ref FirstAs<T, double>(tc), ref FirstAs<T, double>(h), ldh,
                peep, ref FirstAs<T, double>(peephole), s, 0, u);
        }
    }

    /// <summary>The mask rows a masked step reads and the masked rows it writes (first elements and row strides).</summary>
    private readonly ref struct MaskedRowsOut<T> where T : unmanaged
    {
        public readonly ref T Masks;
        public readonly ref T Hm;
        public readonly int Ldm, Ldhm;

        public MaskedRowsOut(ref T masks, int ldm, ref T hm, int ldhm)
        {
            Masks = ref masks;
            Hm = ref hm;
            Ldm = ldm;
            Ldhm = ldhm;
        }
    }

    /// <summary><see cref="Fwd{T, V, L}"/>'s two passes per row, then a third storing h ⊙ m_g for every gate into the masked rows.</summary>
    private static void FwdMasked<T, V, L>(int b0, int b1, int u, ref T a, int lda, ref T bias, ref T cPrev, int ldPrev, ref T c, bool keepTc, ref T tc,
        ref T h, int ldh, bool peep, ref T p, in MaskedRowsOut<T> s, int j0, int j1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> where V : struct, ISimdMath<V, T> where L : IRowLanes<T, V>
    {
        nint u2 = 2 * u, u3 = 3 * u;
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
            ref T mr = ref Unsafe.Add(ref s.Masks, (nint)b * s.Ldm);
            ref T mr2 = ref Unsafe.Add(ref s.Masks, (nint)b2 * s.Ldm);
            ref T hmr = ref Unsafe.Add(ref s.Hm, (nint)b * s.Ldhm);
            ref T hmr2 = ref Unsafe.Add(ref s.Hm, (nint)b2 * s.Ldhm);
            for (int j = j0; j < j1; j += V.Count / L.Rows)
            {
                nint jf = j + u, jg = j + u2, jo = j + u3;
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
                L.Store(L.Load(ref ar, ref ar2, j + u3) * t, ref hr, ref hr2, j);
            }
            // a third pass over the row's h just stored (in L1): in the second one the mask and masked-row references
            // join the gate, cell and state ones, more than the general registers hold
            for (int j = j0; j < j1; j += V.Count / L.Rows)
            {
                var hv = L.Load(ref hr, ref hr2, j);
                L.Store(hv * L.Load(ref mr, ref mr2, j), ref hmr, ref hmr2, j);
                L.Store(hv * L.Load(ref mr, ref mr2, j + u), ref hmr, ref hmr2, j + u);
                L.Store(hv * L.Load(ref mr, ref mr2, j + u2), ref hmr, ref hmr2, j + u2);
                L.Store(hv * L.Load(ref mr, ref mr2, j + u3), ref hmr, ref hmr2, j + u3);
            }
        }
    }
}
