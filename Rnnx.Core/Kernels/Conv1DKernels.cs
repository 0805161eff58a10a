using System.Diagnostics;
using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Rnnx.Kernels;

/// <summary>
/// Channels-last 1-D convolution (cross-correlation, kernel not flipped) and its two gradients, built on the
/// register-blocked GEMM engine. Shapes: x (batch, L, cin), w (K, cin, cout), y (batch, Lout, cout), all contiguous;
/// geometry (stride, dilation, zero padding) from <see cref="Conv1DGeometry"/>.
/// <para>
/// Decomposition: for output row j and tap i the input row is j*s + i*d - padLeft. Output rows whose taps all
/// fall inside the input ("interior" rows) are computed by one GEMM whose reduction runs over (tap, channel),
/// with the batch folded into the rows; the remaining boundary rows are computed tap by tap as GEMMs on strided
/// rows, skipping the rows whose input falls in the padding. Nothing is materialised but the kernel, packed once per
/// call into column panels (<see cref="PanelWidth"/>; transposed for the backward-input pass) in a per-thread scratch
/// of K*cin*cout elements.
/// </para>
/// <para>
/// Memory layout, not arithmetic: the panels and the row blocks of the forward and backward-input passes
/// (<see cref="RunPanels{T}(in GemmPlan{T}, T*, int, int, long, bool)"/>), the channel blocks of the weight gradient and its L1-chunked engine
/// (<see cref="LongReductionGemm"/>) leave every output element's products and their order unchanged. Only a weight
/// gradient whose reduction (batch x rows) exceeds a core's L2 is summed in consecutive blocks, one rounding per block
/// (<see cref="WeightInterior"/>).
/// </para>
/// </summary>
public static class Conv1DKernels
{
    /// <summary>No epilogue.</summary>
    private readonly struct NoRowsEpilogue<T> : IRowsEpilogue<T> where T : unmanaged
    {
        public static bool None => true;

        public void Apply(Span<T> rows, int count) { }
    }

    /// <summary>
    /// y[b, j, f] = (accumulate ? y : 0) + sum_{i&lt;K} sum_{c&lt;cin} xpad[b, j*s + i*d, c] * w[i, c, f].
    /// No bias, no activation.
    /// </summary>
    /// <typeparam name="T">float or double.</typeparam>
    /// <param name="x">Input (batch, L, cin).</param>
    /// <param name="w">Kernel (K, cin, cout).</param>
    /// <param name="y">Output (batch, Lout, cout).</param>
    /// <param name="batch">Batch size.</param>
    /// <param name="cin">Input channels.</param>
    /// <param name="cout">Output channels (filters).</param>
    /// <param name="g">Geometry.</param>
    /// <param name="accumulate">Add into y instead of overwriting it.</param>
    public static void Forward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> w, Span<T> y, int batch, int cin, int cout,
        in Conv1DGeometry g, bool accumulate = false)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Forward(x, w, y, batch, cin, cout, g, accumulate, default(NoRowsEpilogue<T>));

    /// <summary>
    /// <see cref="Forward{T}(ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T}, int, int, int, in Conv1DGeometry, bool)"/>, then
    /// <paramref name="epilogue"/> on every output row once its value is final, while the row block is still in cache
    /// (the boundary rows first, then each row block of the interior product after its last panel), instead of a pass
    /// over the whole output afterwards. The epilogue must be elementwise with the same bits whatever rows it is given.
    /// </summary>
    internal static unsafe void Forward<T, TEpilogue>(ReadOnlySpan<T> x, ReadOnlySpan<T> w, Span<T> y, int batch, int cin, int cout,
        in Conv1DGeometry g, bool accumulate, TEpilogue epilogue)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TEpilogue : struct, IRowsEpilogue<T>
    {
        CheckShapes(x.Length, w.Length, y.Length, batch, cin, cout, g);
        int l = g.InputLength, lout = g.OutputLength, kk = g.KernelSize, s = g.Stride, d = g.Dilation, pl = g.PadLeft;
        if (batch <= 0 || cout <= 0 || lout <= 0)
            return;
        int panelWidth = PanelWidth<T>(cout);
        // the kernel packed into column panels (each tap's rows contiguous per panel); one panel is w itself
        Span<T> packed = panelWidth < cout ? KernelScratch<T>.Get(checked(kk * cin * cout)) : default;
        fixed (T* px = x)
        fixed (T* pw = w)
        fixed (T* py = y)
        fixed (T* pp = packed)
        {
            T* pk = pw;
            if (pp != null)
            {
                PackPanels(pw, kk * cin, cout, panelWidth, pp);
                pk = pp;
            }
            // the boundary rows first, so that each interior row block is final (for the epilogue) after its last panel
            Interior(g, out int iS, out int iE);
            for (int piece = 0; piece < 2; piece++)
            {
                int p0 = piece == 0 ? 0 : iE, p1 = piece == 0 ? iS : lout;
                if (p1 <= p0)
                    continue;
                if (!accumulate)
                {
                    GemmCore.ClearRows(new GemmPlan<T>
                    {
                        M = batch * (p1 - p0), N = cout, RowsPerGroup = p1 - p0,
                        C = py + (nint)p0 * cout, CRow = cout, CGroup = (nint)lout * cout,
                    });
                }
                for (int i = 0; i < kk; i++)
                {
                    g.TapRange(i, out int lo, out int hi);
                    int j0 = Math.Max(lo, p0), j1 = Math.Min(hi, p1);
                    if (j1 <= j0)
                        continue;
                    var plan = new GemmPlan<T>
                    {
                        M = batch * (j1 - j0), N = cout, RowsPerGroup = j1 - j0,
                        A = px + ((nint)j0 * s + (nint)i * d - pl) * cin, ARow = (nint)s * cin, AGroup = (nint)l * cin,
                        C = py + (nint)j0 * cout, CRow = cout, CGroup = (nint)lout * cout,
                        B = pk + (nint)i * cin * cout, K = KLoop.Simple(cin, 1, cout),
                        Accumulate = true,
                    };
                    RunPanels(plan, pk, kk * cin, panelWidth, (long)(cin + cout) * sizeof(T));
                }
                if (!TEpilogue.None)
                {
                    for (int b = 0; b < batch; b++)
                        epilogue.Apply(y.Slice((b * lout + p0) * cout, (p1 - p0) * cout), p1 - p0);
                }
            }
            if (iE > iS)
            {
                // rows (b, j), reduction over (tap i: x += d*cin, w += cin*cout) x (channel c: x += 1, w += cout)
                var plan = new GemmPlan<T>
                {
                    M = batch * (iE - iS), N = cout, RowsPerGroup = iE - iS,
                    A = px + ((nint)iS * s - pl) * cin, ARow = (nint)s * cin, AGroup = (nint)l * cin,
                    C = py + (nint)iS * cout, CRow = cout, CGroup = (nint)lout * cout,
                    B = pk, K = new KLoop(kk, (nint)d * cin, (nint)cin * cout, cin, 1, cout),
                    Accumulate = accumulate,
                };
                RunPanels(plan, pk, kk * cin, panelWidth, (long)(cin + cout) * sizeof(T), false, epilogue);
            }
        }
    }

    /// <summary>
    /// dx (+)= d/dx of sum(y .* dy), i.e. dx[b, j*s + i*d - padLeft, c] += sum_f dy[b, j, f] * w[i, c, f].
    /// Accumulates into dx, or with <paramref name="overwrite"/> writes every element of dx with the bits accumulating
    /// into a zeroed dx would give, without the caller zeroing it (rows every tap reaches are written once from their
    /// sums, the others cleared and accumulated into).
    /// </summary>
    /// <typeparam name="T">float or double.</typeparam>
    /// <param name="dy">Output gradient (batch, Lout, cout).</param>
    /// <param name="w">Kernel (K, cin, cout).</param>
    /// <param name="dx">Input gradient (batch, L, cin), accumulated into.</param>
    /// <param name="batch">Batch size.</param>
    /// <param name="cin">Input channels.</param>
    /// <param name="cout">Output channels.</param>
    /// <param name="g">Geometry.</param>
    /// <param name="overwrite">Write dx as if it were zero on entry (its contents are not read).</param>
    public static unsafe void BackwardInput<T>(ReadOnlySpan<T> dy, ReadOnlySpan<T> w, Span<T> dx, int batch, int cin, int cout,
        in Conv1DGeometry g, bool overwrite = false)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        CheckShapes(dx.Length, w.Length, dy.Length, batch, cin, cout, g);
        if (overwrite && !WritesWhole<T>(batch, cin, cout, g))
        {
            // no fused interior pass, or its panels run on the engine that accumulates into C: every row is accumulated
            // into, after one clearing pass (cheaper than clearing row blocks one by one)
            dx[..(batch * g.InputLength * cin)].Clear();
            overwrite = false;
        }
        if (batch <= 0 || cin <= 0 || cout <= 0 || g.OutputLength <= 0)
            return;
        Span<T> scratch = KernelScratch<T>.Get(checked(g.KernelSize * cin * cout));
        fixed (T* pdy = dy)
        fixed (T* pw = w)
        fixed (T* pdx = dx)
        fixed (T* pwt = scratch)
        {
            PackTransposedPanels(pw, cin, cout, g.KernelSize, pwt);
            BackwardInputPacked(pdy, pwt, pdx, batch, cin, cout, g, overwrite);
        }
    }

    /// <summary>
    /// Whether <see cref="BackwardInput{T}"/> with overwrite writes dx whole from the fused interior pass (stride 1, a
    /// non-empty problem, panels on <see cref="TallPanelGemm"/>) rather than clearing it and accumulating.
    /// </summary>
    private static bool WritesWhole<T>(int batch, int cin, int cout, in Conv1DGeometry g) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => g.Stride == 1 && batch > 0 && cin > 0 && cout > 0 && g.OutputLength > 0 && WritesPanelsWhole<T>(cin);

    /// <summary>Each tap's W_i^T ([cout x cin]) packed into column panels of dx: panel q holds rows (i, f) of its columns.</summary>
    private static unsafe void PackTransposedPanels<T>(T* pw, int cin, int cout, int kk, T* pwt) where T : unmanaged
    {
        int panelWidth = PanelWidth<T>(cin);
        nint panel = (nint)cin * cout;
        for (int c0 = 0; c0 < cin; c0 += panelWidth)
        {
            int nq = PanelColumns(cin, panelWidth, c0);
            for (int i = 0; i < kk; i++)
                MatMulKernels.PackTransposed(pw + i * panel + (nint)c0 * cout, cout, nq, cout, pwt + (nint)kk * cout * c0 + i * (nint)cout * nq);
            if (nq > panelWidth)
                break;
        }
    }

    /// <summary>
    /// <see cref="BackwardInput{T}"/> on a non-empty problem with the kernel already packed by <see cref="PackTransposedPanels"/>;
    /// <paramref name="overwrite"/> only where <see cref="WritesWhole{T}"/> holds.
    /// </summary>
    private static unsafe void BackwardInputPacked<T>(T* pdy, T* pwt, T* pdx, int batch, int cin, int cout, in Conv1DGeometry g, bool overwrite)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int l = g.InputLength, lout = g.OutputLength, kk = g.KernelSize, s = g.Stride, d = g.Dilation, pl = g.PadLeft;
        var dx = new Span<T>(pdx, batch * l * cin);
        int panelWidth = PanelWidth<T>(cin);
        nint panel = (nint)cin * cout;
        long rowBytes = (long)(cin + cout) * sizeof(T);
        // Boundary pieces of dx rows that still need the tap-by-tap pass.
        int rS = 0, rE = 0;
        if (s == 1)
        {
            // dx row r receives dy row j = r + pl - i*d from tap i; rows where every tap hits a real dy row
            // are one GEMM reducing over (tap: dy -= d*cout, wt += cout*cin) x (f: dy += 1, wt += cin).
            rS = Math.Clamp((kk - 1) * d - pl, 0, l);
            rE = Math.Clamp(lout - pl, rS, l);
            if (overwrite)
            {
                // the rows outside the fused pass are accumulated into below: zero them (all rows when it is empty)
                int z0 = rE > rS ? rS : l;
                for (int b = 0; b < batch; b++)
                {
                    dx.Slice((b * l) * cin, z0 * cin).Clear();
                    if (rE > rS)
                        dx.Slice((b * l + rE) * cin, (l - rE) * cin).Clear();
                }
            }
            if (rE > rS)
            {
                var plan = new GemmPlan<T>
                {
                    M = batch * (rE - rS), N = cin, RowsPerGroup = rE - rS,
                    A = pdy + ((nint)rS + pl) * cout, ARow = cout, AGroup = (nint)lout * cout,
                    C = pdx + (nint)rS * cin, CRow = cin, CGroup = (nint)l * cin,
                    B = pwt, K = new KLoop(kk, -(nint)d * cout, panel, cout, 1, cin),
                    Accumulate = true,
                };
                RunPanels(plan, pwt, kk * cout, panelWidth, rowBytes, overwrite);
            }
        }
        for (int piece = 0; piece < 2; piece++)
        {
            // dx rows [p0, p1) not covered by the fused pass (everything when s > 1).
            int p0 = piece == 0 ? 0 : rE, p1 = piece == 0 ? rS : l;
            if (rE == rS)
            {
                if (piece == 1)
                    break;
                p0 = 0;
                p1 = l;
            }
            if (p1 <= p0)
                continue;
            for (int i = 0; i < kk; i++)
            {
                g.TapRange(i, out int lo, out int hi);
                // dx row r = j*s + off; keep j with r in [p0, p1).
                long off = (long)i * d - pl;
                long jLo = CeilDiv(p0 - off, s), jHi = CeilDiv(p1 - off, s);
                int j0 = (int)Math.Max(lo, jLo), j1 = (int)Math.Min(hi, jHi);
                if (j1 <= j0)
                    continue;
                var plan = new GemmPlan<T>
                {
                    M = batch * (j1 - j0), N = cin, RowsPerGroup = j1 - j0,
                    A = pdy + (nint)j0 * cout, ARow = cout, AGroup = (nint)lout * cout,
                    C = pdx + ((nint)j0 * s + (nint)off) * cin, CRow = (nint)s * cin, CGroup = (nint)l * cin,
                    B = pwt + i * panel, K = KLoop.Simple(cout, 1, cin),
                    Accumulate = true,
                };
                RunPanels(plan, pwt, kk * cout, panelWidth, rowBytes);
            }
        }
    }

    /// <summary>
    /// dw (+)= d/dw of sum(y .* dy), i.e. dw[i, c, f] += sum_b sum_j xpad[b, j*s + i*d, c] * dy[b, j, f].
    /// Always accumulates into dw.
    /// </summary>
    /// <typeparam name="T">float or double.</typeparam>
    /// <param name="x">Input (batch, L, cin).</param>
    /// <param name="dy">Output gradient (batch, Lout, cout).</param>
    /// <param name="dw">Kernel gradient (K, cin, cout), accumulated into.</param>
    /// <param name="batch">Batch size.</param>
    /// <param name="cin">Input channels.</param>
    /// <param name="cout">Output channels.</param>
    /// <param name="g">Geometry.</param>
    public static unsafe void BackwardWeight<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> dy, Span<T> dw, int batch, int cin, int cout,
        in Conv1DGeometry g)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        CheckShapes(x.Length, dw.Length, dy.Length, batch, cin, cout, g);
        if (batch <= 0 || cin <= 0 || cout <= 0 || g.OutputLength <= 0)
            return;
        fixed (T* px = x)
        fixed (T* pdy = dy)
        fixed (T* pdw = dw)
        {
            var blocks = WeightBlocks.Create<T>(batch, cin, cout, g);
            for (int b0 = 0; b0 < batch; b0 += blocks.Items)
                WeightInterior(px, pdy, pdw, b0, Math.Min(blocks.Items, batch - b0), cin, cout, g, blocks);
            WeightBoundary(px, pdy, pdw, batch, cin, cout, g);
        }
    }

    /// <summary>
    /// Both gradients of y = conv(x, w), with dy finished block by block: for each block of whole batch items (one
    /// reduction block of the weight gradient, <see cref="WeightBlocks"/>) <paramref name="prologue"/> first finishes
    /// the block's rows of dy (an activation's derivative), then the block's input gradient and its part of the interior
    /// weight gradient run while those rows are in cache, instead of passes over the whole of dy one after another; the
    /// weight gradient's boundary rows follow over the whole batch. Every element of dx and dw gets the bits of
    /// <see cref="BackwardInput{T}"/> (with <paramref name="overwriteDx"/>) and <see cref="BackwardWeight{T}"/> on the
    /// finished dy. <paramref name="prologue"/> may write dy's rows (dy is read only after it) and must not touch dx or dw;
    /// dx must not overlap the rows of dy a later block's prologue reads.
    /// </summary>
    internal static unsafe void Backward<T, TPrologue>(ReadOnlySpan<T> x, ReadOnlySpan<T> dy, ReadOnlySpan<T> w, Span<T> dx, bool wantDx,
        bool overwriteDx, Span<T> dw, bool wantDw, int batch, int cin, int cout, in Conv1DGeometry g, ref TPrologue prologue)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TPrologue : IRowsPrologue, allows ref struct
    {
        if (wantDx) CheckShapes(dx.Length, w.Length, dy.Length, batch, cin, cout, g);
        if (wantDw) CheckShapes(x.Length, dw.Length, dy.Length, batch, cin, cout, g);
        int l = g.InputLength, lout = g.OutputLength;
        if (batch <= 0 || cin <= 0 || cout <= 0 || lout <= 0)
        {
            prologue.Prepare(0, Math.Max(batch, 0) * Math.Max(lout, 0));
            if (wantDx) BackwardInput(dy, w, dx, batch, cin, cout, g, overwriteDx);
            return;
        }
        bool whole = overwriteDx && WritesWhole<T>(batch, cin, cout, g);
        var blocks = WeightBlocks.Create<T>(batch, cin, cout, g);
        Span<T> packed = wantDx ? TransposedKernel<T>.Get(checked(g.KernelSize * cin * cout)) : default;
        fixed (T* px = x)
        fixed (T* pdy = dy)
        fixed (T* pw = w)
        fixed (T* pdx = dx)
        fixed (T* pdw = dw)
        fixed (T* pwt = packed)
        {
            if (wantDx)
                PackTransposedPanels(pw, cin, cout, g.KernelSize, pwt);
            for (int b0 = 0; b0 < batch; b0 += blocks.Items)
            {
                int nb = Math.Min(blocks.Items, batch - b0);
                prologue.Prepare(b0 * lout, nb * lout);
                if (wantDx)
                {
                    T* dxb = pdx + (nint)b0 * l * cin;
                    if (overwriteDx && !whole)
                        new Span<T>(dxb, nb * l * cin).Clear();
                    BackwardInputPacked(pdy + (nint)b0 * lout * cout, pwt, dxb, nb, cin, cout, g, whole);
                }
                if (wantDw)
                    WeightInterior(px, pdy, pdw, b0, nb, cin, cout, g, blocks);
            }
            if (wantDw)
                WeightBoundary(px, pdy, pdw, batch, cin, cout, g);
        }
    }

    /// <summary>A second per-thread scratch, for the packed kernel <see cref="Backward{T, TPrologue}"/> holds while the weight gradient's engine takes <see cref="KernelScratch{T}"/>.</summary>
    private static class TransposedKernel<T> where T : unmanaged
    {
        [ThreadStatic]
        private static T[]? t_buffer;

        public static Span<T> Get(int length) => AlignedArrays.Grow(ref t_buffer, length);
    }

    /// <summary>
    /// The weight gradient's rows outside the interior (some tap in the padding), tap by tap over the whole batch, after
    /// the interior.
    /// </summary>
    private static unsafe void WeightBoundary<T>(T* px, T* pdy, T* pdw, int batch, int cin, int cout, in Conv1DGeometry g)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int l = g.InputLength, lout = g.OutputLength, kk = g.KernelSize, s = g.Stride, d = g.Dilation, pl = g.PadLeft;
        Interior(g, out int iS, out int iE);
        for (int piece = 0; piece < 2; piece++)
        {
            int p0 = piece == 0 ? 0 : iE, p1 = piece == 0 ? iS : lout;
            if (p1 <= p0)
                continue;
            for (int i = 0; i < kk; i++)
            {
                g.TapRange(i, out int lo, out int hi);
                int j0 = Math.Max(lo, p0), j1 = Math.Min(hi, p1);
                if (j1 <= j0)
                    continue;
                var plan = new GemmPlan<T>
                {
                    M = cin, N = cout, RowsPerGroup = cin,
                    A = px + ((nint)j0 * s + (nint)i * d - pl) * cin, ARow = 1, AGroup = 0,
                    C = pdw + (nint)i * cin * cout, CRow = cout, CGroup = 0,
                    B = pdy + (nint)j0 * cout,
                    K = new KLoop(batch, (nint)l * cin, (nint)lout * cout, j1 - j0, (nint)s * cin, cout),
                    Accumulate = true,
                };
                RunWeightPlan(plan);
            }
        }
    }

    /// <summary>
    /// How the interior weight gradient is cut (<see cref="WeightInterior{T}"/>): its reduction blocks are
    /// <see cref="Items"/> whole batch items each, or, when one item's rows exceed <see cref="WeightReductionBudget"/>,
    /// one item in runs of <see cref="RowRun"/> rows; <see cref="ChannelBlock"/> channels per product.
    /// </summary>
    private readonly record struct WeightBlocks(int Items, int RowRun, int ChannelBlock)
    {
        public static unsafe WeightBlocks Create<T>(int batch, int cin, int cout, in Conv1DGeometry g)
            where T : unmanaged, IBinaryFloatingPointIeee754<T>
        {
            Interior(g, out int iS, out int iE);
            int rows = iE - iS;
            int cb = Math.Min(cin, WeightChannelBlock);
            // bytes one reduction step touches: the block's input cache line(s) and one dY row
            long stepBytes = (long)(cb * sizeof(T) + 63) / 64 * 64 + (long)cout * sizeof(T);
            int rowRun = Math.Max(rows, 1), items = Math.Max(batch, 1);
            if ((long)batch * rows * stepBytes > WeightReductionBudget)
            {
                long fit = Math.Max(1, WeightReductionBudget / stepBytes);
                if (fit >= rows)
                    items = (int)Math.Min(batch, fit / rows);
                else
                {
                    items = 1;
                    rowRun = (int)fit;
                }
            }
            // the L1-chunked engine packs its operands itself: one plan over all channels per reduction block
            if (rows > 0 && LongReductionGemm.Supports(WeightPlan<T>(null, null, null, 0, cin, 1, rows, cin, cout, g)))
                cb = cin;
            return new WeightBlocks(items, rowRun, cb);
        }
    }

    /// <summary>
    /// The interior part of <see cref="BackwardWeight{T}"/> for batch items [<paramref name="b0"/>, + <paramref name="nb"/>)
    /// (whole reduction blocks of <paramref name="blocks"/>): dw rows (i, c) (+)= X_i^T·dY over those items and the
    /// interior output rows. The reduction is long (batch x rows) and dw small. With whole vector panels of dw columns it
    /// runs on <see cref="LongReductionGemm"/> (operands packed per chunk of the reduction, in L1), one plan over all
    /// channels, split over a team in column blocks. Otherwise every register tile of the unpacked engine streams the
    /// whole reduction: the rows are cut into blocks of <see cref="WeightChannelBlock"/> channels (all taps), whose input
    /// columns share cache lines and stay in L2 while the block's column chunks stream over them. Either way one element's
    /// arithmetic is the same: same products, same order, one accumulator. A reduction whose data exceeds
    /// <see cref="WeightReductionBudget"/> bytes (counted with the channel block's input line, whichever engine runs) is
    /// also cut into consecutive blocks (whole batch items, or row runs of one item) added into dw one after another; that
    /// adds one rounding per block, so it is kept to problems past L2.
    /// </summary>
    private static unsafe void WeightInterior<T>(T* px, T* pdy, T* pdw, int b0, int nb, int cin, int cout, in Conv1DGeometry g,
        in WeightBlocks blocks)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int l = g.InputLength, lout = g.OutputLength, s = g.Stride, pl = g.PadLeft;
        Interior(g, out int iS, out int iE);
        int rows = iE - iS;
        if (rows <= 0)
            return;
        T* x0 = px + ((nint)iS * s - pl) * cin;
        T* dy0 = pdy + (nint)iS * cout;
        for (int e0 = b0; e0 < b0 + nb; e0 += blocks.Items)
        {
            int ne = Math.Min(blocks.Items, b0 + nb - e0);
            for (int j0 = 0; j0 < rows; j0 += blocks.RowRun)
            {
                int nj = Math.Min(blocks.RowRun, rows - j0);
                T* xb = x0 + (nint)e0 * l * cin + (nint)j0 * s * cin;
                T* dyb = dy0 + (nint)e0 * lout * cout + (nint)j0 * cout;
                for (int c0 = 0; c0 < cin; c0 += blocks.ChannelBlock)
                {
                    var plan = WeightPlan(xb, dyb, pdw, c0, Math.Min(blocks.ChannelBlock, cin - c0), ne, nj, cin, cout, g);
                    RunWeightPlan(plan);
                }
            }
        }
    }

    /// <summary>
    /// The interior weight-gradient product of channels [c0, c0 + nc) over <paramref name="items"/> batch items x
    /// <paramref name="rows"/> output rows starting at x row block <paramref name="xb"/> and dY row block <paramref name="dyb"/>:
    /// dw rows (i, c), reduction over (batch item) x (output row).
    /// </summary>
    private static unsafe GemmPlan<T> WeightPlan<T>(T* xb, T* dyb, T* pdw, int c0, int nc, int items, int rows, int cin, int cout,
        in Conv1DGeometry g) where T : unmanaged => new()
    {
        M = g.KernelSize * nc, N = cout, RowsPerGroup = nc,
        A = xb + c0, ARow = 1, AGroup = (nint)g.Dilation * cin,
        C = pdw + (nint)c0 * cout, CRow = cout, CGroup = (nint)cin * cout,
        B = dyb,
        K = new KLoop(items, (nint)g.InputLength * cin, (nint)g.OutputLength * cout, rows, (nint)g.Stride * cin, cout),
        Accumulate = true,
    };

    /// <summary>
    /// Runs a weight-gradient product, split over the current team when large enough: on the L1-chunked engine when it
    /// takes the plan, else on the register-blocked engine (the same bits either way).
    /// </summary>
    private static void RunWeightPlan<T>(in GemmPlan<T> plan) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (LongReductionGemm.Supports(plan))
            LongReductionGemm.RunParallel(plan);
        else
            ParallelGemm.Run(plan);
    }

    /// <summary>Bytes of A and C rows one row block of <see cref="RunPanels{T}(in GemmPlan{T}, T*, int, int, long, bool)"/> may touch (within a core's L2, beside the packed kernel).</summary>
    private const long RowBlockBudget = 256 * 1024;

    /// <summary>Channels per row block of the weight gradient: 16 floats are one cache line of an input row.</summary>
    private const int WeightChannelBlock = 16;

    /// <summary>Bytes of input and output gradient one reduction block of the weight gradient may touch (within a core's L2).</summary>
    private const long WeightReductionBudget = 384 * 1024;

    /// <summary>
    /// Whether the input gradient's panels of <paramref name="cin"/> columns run on <see cref="TallPanelGemm"/>, which
    /// writes (+0) + sum without reading C; otherwise writing dx whole would only clear it row block by row block.
    /// </summary>
    private static bool WritesPanelsWhole<T>(int cin) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int width = PanelWidth<T>(cin);
        return width < cin && TallPanelGemm.Supports(new GemmPlan<T> { N = width });
    }

    /// <summary>
    /// Columns per packed panel of the right-hand matrix for rows of <paramref name="n"/> columns: one register tile's
    /// width on 256-bit vectors (<paramref name="n"/> itself, i.e. no packing, elsewhere). A panel's rows are then
    /// contiguous, where the kernel's own rows are strided by n and, for n a multiple of 64 floats, fall into a few
    /// L1 sets; the columns of a panel are computed by the same vector width and arithmetic as unpacked.
    /// </summary>
    private static int PanelWidth<T>(int n) where T : unmanaged
    {
        if (Vector512.IsHardwareAccelerated || !Vector256.IsHardwareAccelerated)
            return Math.Max(n, 1);
        int width = (Avx512F.VL.IsSupported ? 4 : 2) * Vector256<T>.Count;
        return n >= 2 * width ? width : Math.Max(n, 1);
    }

    /// <summary>
    /// Width of the panel starting at column <paramref name="c0"/>: <paramref name="width"/>, except the last one,
    /// which also takes the remainder (never a panel narrower than a vector, whose columns would be computed by a
    /// narrower code path).
    /// </summary>
    private static int PanelColumns(int n, int width, int c0) => n - c0 < 2 * width ? n - c0 : width;

    /// <summary>
    /// Packs the (<paramref name="rows"/> x <paramref name="n"/>) row-major matrix <paramref name="b"/> into column panels
    /// (<see cref="PanelColumns"/>): panel q starts at element rows * c0 and holds rows of its own width.
    /// </summary>
    private static unsafe void PackPanels<T>(T* b, int rows, int n, int width, T* packed) where T : unmanaged
    {
        for (int c0 = 0; c0 < n; c0 += width)
        {
            int nq = PanelColumns(n, width, c0);
            T* dst = packed + (nint)rows * c0;
            for (int r = 0; r < rows; r++)
                new ReadOnlySpan<T>(b + (nint)r * n + c0, nq).CopyTo(new Span<T>(dst + (nint)r * nq, nq));
            if (nq > width)
                break;
        }
    }

    /// <summary>
    /// Runs a plan whose right-hand matrix (<paramref name="rows"/> rows) is packed at <paramref name="packed"/> in panels of
    /// <paramref name="width"/> columns by <see cref="PackPanels"/> (the plan's B pointer and strides written for the unpacked
    /// matrix, N columns a row, starting at <paramref name="packed"/>), panel by panel, and in blocks of whole series (or row runs of one
    /// series) whose A and C rows (<paramref name="rowBytes"/> each) stay in L2 while the panels pass over them. Every
    /// output element is computed by the same products in the same order as the single plan. With
    /// <paramref name="fromZero"/> (an accumulating plan) C's old contents are taken as zero: the 6-row engine writes
    /// (+0) + sum without reading C, any other panel's rows are cleared first.
    /// </summary>
    private static unsafe void RunPanels<T>(in GemmPlan<T> p, T* packed, int rows, int width, long rowBytes, bool fromZero = false)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => RunPanels(p, packed, rows, width, rowBytes, fromZero, default(NoRowsEpilogue<T>));

    /// <summary>
    /// <see cref="RunPanels{T}(in GemmPlan{T}, T*, int, int, long, bool)"/>, then <paramref name="epilogue"/> on each row
    /// block's rows (C rows contiguous: CRow = N) after its last panel.
    /// </summary>
    private static unsafe void RunPanels<T, TEpilogue>(in GemmPlan<T> p, T* packed, int rows, int width, long rowBytes, bool fromZero,
        TEpilogue epilogue)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TEpilogue : struct, IRowsEpilogue<T>
    {
        if (p.M <= 0)
            return;
        int n = p.N;
        int perGroup = p.RowsPerGroup, groups = p.M / perGroup;
        long fit = Math.Max(4, RowBlockBudget / Math.Max(rowBytes, 1));
        // whole series per block, or runs of one series (multiples of the 4-row tile)
        int seriesPerBlock = fit >= perGroup ? (int)Math.Min(groups, fit / perGroup) : 1;
        int run = fit >= perGroup ? perGroup : (int)(fit / 4 * 4);
        for (int g0 = 0; g0 < groups; g0 += seriesPerBlock)
        {
            int ng = Math.Min(seriesPerBlock, groups - g0);
            for (int t0 = 0; t0 < perGroup; t0 += run)
            {
                int nt = Math.Min(run, perGroup - t0);
                GemmPlan<T> q = p;
                q.M = ng == 1 ? nt : ng * perGroup;
                q.RowsPerGroup = ng == 1 ? nt : perGroup;
                q.A = p.A + g0 * p.AGroup + t0 * p.ARow;
                q.C = p.C + g0 * p.CGroup + t0 * p.CRow;
                for (int c0 = 0; c0 < n; c0 += width)
                {
                    int nq = PanelColumns(n, width, c0);
                    GemmPlan<T> r = q;
                    r.N = nq;
                    r.C = q.C + c0;
                    // rows of the panel are nq long instead of n; the panel starts after c0 columns of every row
                    r.B = packed + (nint)rows * c0 + (p.B - packed) / n * nq;
                    r.K = new KLoop(p.K.Outer, p.K.AOuter, p.K.BOuter / n * nq, p.K.Inner, p.K.AInner, p.K.BInner / n * nq);
                    if (TallPanelGemm.Supports(r))
                        TallPanelGemm.RunParallel(r, fromZero);
                    else
                    {
                        if (fromZero)
                            GemmCore.ClearRows(r);
                        ParallelGemm.Run(r);
                    }
                    if (nq > width)
                        break;
                }
                if (!TEpilogue.None)
                {
                    Debug.Assert(p.CRow == n, "the epilogue takes contiguous rows");
                    int perBlock = q.RowsPerGroup;
                    for (int gi = 0; gi < ng; gi++)
                        epilogue.Apply(new Span<T>(q.C + gi * p.CGroup, perBlock * n), perBlock);
                }
            }
        }
    }

    /// <summary>Output rows [iS, iE) whose taps all read real input rows (iE == iS when there are none).</summary>
    private static void Interior(in Conv1DGeometry g, out int iS, out int iE)
    {
        g.TapRange(0, out int lo0, out _);
        g.TapRange(g.KernelSize - 1, out _, out int hiLast);
        iS = Math.Min(lo0, g.OutputLength);
        iE = Math.Clamp(hiLast, iS, g.OutputLength);
    }

    private static long CeilDiv(long a, long b) => a >= 0 ? (a + b - 1) / b : -(-a / b);

    /// <summary>
    /// The spans and sizes every entry point checks before its pointer loops (a short span would otherwise be read or
    /// written past its end).
    /// </summary>
    private static void CheckShapes(int xLen, int wLen, int yLen, int batch, int cin, int cout, in Conv1DGeometry g)
    {
        if (batch < 0 || cin < 0 || cout < 0)
            throw new ArgumentOutOfRangeException(nameof(batch), $"Conv1DKernels: negative size (batch {batch}, cin {cin}, cout {cout}).");
        if (g.KernelSize <= 0 || g.Stride <= 0 || g.Dilation <= 0 || g.InputLength < 0 || g.OutputLength < 0)
            throw new ArgumentException("Conv1DKernels: the geometry was not created by Conv1DGeometry.Create.", nameof(g));
        if (xLen < (long)batch * g.InputLength * cin)
            throw new ArgumentException($"Conv1DKernels: x / dx holds {xLen} values, batch {batch} x length {g.InputLength} x cin {cin} needed.");
        if (wLen < (long)g.KernelSize * cin * cout)
            throw new ArgumentException($"Conv1DKernels: w / dw holds {wLen} values, kernel {g.KernelSize} x cin {cin} x cout {cout} needed.");
        if (yLen < (long)batch * g.OutputLength * cout)
            throw new ArgumentException($"Conv1DKernels: y / dy holds {yLen} values, batch {batch} x output length {g.OutputLength} x cout {cout} needed.");
    }
}
