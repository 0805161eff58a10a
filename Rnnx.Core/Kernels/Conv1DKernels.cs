using System.Diagnostics;
using System.Numerics;

namespace Rnnx.Kernels;

/// <summary>
/// Channels-last 1-D convolution (cross-correlation, kernel not flipped) and its two gradients, built on the
/// register-blocked GEMM engine. Shapes: x (batch, L, cin), w (K, cin, cout), y (batch, Lout, cout), all contiguous;
/// geometry (stride, dilation, zero padding) from <see cref="Conv1DGeometry"/>.
/// <para>
/// Decomposition: for output row j and tap i the input row is j*s + i*d - padLeft. Output rows whose taps all
/// fall inside the input ("interior" rows) are computed by one GEMM whose reduction runs over (tap, channel),
/// with the batch folded into the rows; the remaining boundary rows are computed tap by tap as GEMMs on strided
/// rows, skipping the rows whose input falls in the padding. Nothing is materialised except the transposed
/// weights of the backward-input pass (a per-thread scratch panel of K*cin*cout elements).
/// </para>
/// </summary>
public static class Conv1DKernels
{
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
    public static unsafe void Forward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> w, Span<T> y, int batch, int cin, int cout,
        in Conv1DGeometry g, bool accumulate = false)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        AssertShapes(x.Length, w.Length, y.Length, batch, cin, cout, g);
        int l = g.InputLength, lout = g.OutputLength, kk = g.KernelSize, s = g.Stride, d = g.Dilation, pl = g.PadLeft;
        if (batch <= 0 || cout <= 0 || lout <= 0)
            return;
        fixed (T* px = x)
        fixed (T* pw = w)
        fixed (T* py = y)
        {
            Interior(g, out int iS, out int iE);
            if (iE > iS)
            {
                // rows (b, j), reduction over (tap i: x += d*cin, w += cin*cout) x (channel c: x += 1, w += cout)
                var plan = new GemmPlan<T>
                {
                    M = batch * (iE - iS), N = cout, RowsPerGroup = iE - iS,
                    A = px + ((nint)iS * s - pl) * cin, ARow = (nint)s * cin, AGroup = (nint)l * cin,
                    C = py + (nint)iS * cout, CRow = cout, CGroup = (nint)lout * cout,
                    B = pw, K = new KLoop(kk, (nint)d * cin, (nint)cin * cout, cin, 1, cout),
                    Accumulate = accumulate,
                };
                ParallelGemm.Run(plan);
            }
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
                        B = pw + (nint)i * cin * cout, K = KLoop.Simple(cin, 1, cout),
                        Accumulate = true,
                    };
                    ParallelGemm.Run(plan);
                }
            }
        }
    }

    /// <summary>
    /// dx (+)= d/dx of sum(y .* dy), i.e. dx[b, j*s + i*d - padLeft, c] += sum_f dy[b, j, f] * w[i, c, f].
    /// Always accumulates into dx (the caller zeroes it first when needed).
    /// </summary>
    /// <typeparam name="T">float or double.</typeparam>
    /// <param name="dy">Output gradient (batch, Lout, cout).</param>
    /// <param name="w">Kernel (K, cin, cout).</param>
    /// <param name="dx">Input gradient (batch, L, cin), accumulated into.</param>
    /// <param name="batch">Batch size.</param>
    /// <param name="cin">Input channels.</param>
    /// <param name="cout">Output channels.</param>
    /// <param name="g">Geometry.</param>
    public static unsafe void BackwardInput<T>(ReadOnlySpan<T> dy, ReadOnlySpan<T> w, Span<T> dx, int batch, int cin, int cout,
        in Conv1DGeometry g)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        AssertShapes(dx.Length, w.Length, dy.Length, batch, cin, cout, g);
        int l = g.InputLength, lout = g.OutputLength, kk = g.KernelSize, s = g.Stride, d = g.Dilation, pl = g.PadLeft;
        if (batch <= 0 || cin <= 0 || cout <= 0 || lout <= 0)
            return;
        // wt[i, f, c] = w[i, c, f]: each tap's W_i^T as a row-major [cout x cin] panel.
        T[] scratch = KernelScratch<T>.Get(checked(kk * cin * cout));
        fixed (T* pdy = dy)
        fixed (T* pw = w)
        fixed (T* pdx = dx)
        fixed (T* pwt = scratch)
        {
            nint panel = (nint)cin * cout;
            for (int i = 0; i < kk; i++)
                MatMulKernels.PackTransposed(pw + i * panel, cout, cin, cout, pwt + i * panel);

            // Boundary pieces of dx rows that still need the tap-by-tap pass.
            int rS = 0, rE = 0;
            if (s == 1)
            {
                // dx row r receives dy row j = r + pl - i*d from tap i; rows where every tap hits a real dy row
                // are one GEMM reducing over (tap: dy -= d*cout, wt += cout*cin) x (f: dy += 1, wt += cin).
                rS = Math.Clamp((kk - 1) * d - pl, 0, l);
                rE = Math.Clamp(lout - pl, rS, l);
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
                    ParallelGemm.Run(plan);
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
                    ParallelGemm.Run(plan);
                }
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
        AssertShapes(x.Length, dw.Length, dy.Length, batch, cin, cout, g);
        int l = g.InputLength, lout = g.OutputLength, kk = g.KernelSize, s = g.Stride, d = g.Dilation, pl = g.PadLeft;
        if (batch <= 0 || cin <= 0 || cout <= 0 || lout <= 0)
            return;
        fixed (T* px = x)
        fixed (T* pdy = dy)
        fixed (T* pdw = dw)
        {
            Interior(g, out int iS, out int iE);
            if (iE > iS)
            {
                // rows (i, c) of dw; reduction over (batch) x (interior output rows j), i.e. X_i^T * dY.
                var plan = new GemmPlan<T>
                {
                    M = kk * cin, N = cout, RowsPerGroup = cin,
                    A = px + ((nint)iS * s - pl) * cin, ARow = 1, AGroup = (nint)d * cin,
                    C = pdw, CRow = cout, CGroup = (nint)cin * cout,
                    B = pdy + (nint)iS * cout,
                    K = new KLoop(batch, (nint)l * cin, (nint)lout * cout, iE - iS, (nint)s * cin, cout),
                    Accumulate = true,
                };
                ParallelGemm.Run(plan);
            }
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
                    ParallelGemm.Run(plan);
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

    [Conditional("DEBUG")]
    private static void AssertShapes(int xLen, int wLen, int yLen, int batch, int cin, int cout, in Conv1DGeometry g)
    {
        Debug.Assert(batch >= 0 && cin >= 0 && cout >= 0, "negative conv size");
        Debug.Assert(g.KernelSize > 0 && g.Stride > 0 && g.Dilation > 0 && g.InputLength > 0 && g.OutputLength > 0,
            "geometry not created by Conv1DGeometry.Create");
        Debug.Assert(xLen >= (long)batch * g.InputLength * cin, "x / dx too small");
        Debug.Assert(wLen >= (long)g.KernelSize * cin * cout, "w / dw too small");
        Debug.Assert(yLen >= (long)batch * g.OutputLength * cout, "y / dy too small");
    }
}
