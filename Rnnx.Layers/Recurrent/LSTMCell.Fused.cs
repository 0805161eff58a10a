using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using Rnnx.Autodiff;
using Rnnx.Kernels;
using static Rnnx.Layers.FusedRecurrent;

namespace Rnnx.Layers;

public sealed partial class LSTMCell : IFusedRecurrentCell
{
    bool IFusedRecurrentCell.CanFuse =>
        ReferenceEquals(Activation, Activation.Tanh) && ReferenceEquals(RecurrentActivation, Activation.Sigmoid);

    Tensor IFusedRecurrentCell.ForwardSequence(Tensor x, ReadOnlySpan<Tensor> initialStates, bool returnSequences, bool goBackwards, Span<Tensor> finalStates)
    {
        bool wantStates = finalStates.Length > 0;
        var h = FusedLstmOp.Apply(x, Kernel.Value, RecurrentKernel.Value, Bias?.Value, initialStates[0], initialStates[1], goBackwards,
            wantStates, out var cLast);
        var hd = h.Data;
        var output = returnSequences ? h : SequenceLastStepOp.Apply(hd, hd);
        if (wantStates)
        {
            finalStates[0] = returnSequences ? SequenceLastStepOp.Apply(hd, hd) : output;
            finalStates[1] = cLast;
        }
        return output;
    }
}

/// <summary>
/// A whole LSTM sequence as one tape entry (Keras semantics: z = (x·W + h·R) + b, gates i, f, g, o;
/// c_k = f ⊙ c_{k-1} + i ⊙ g; h_k = o ⊙ tanh(c_k)). Output: the hidden sequence H (B, T, U) in processing order.
/// Inputs A = x (B, T, F), B = kernel (F, 4U), C = recurrent kernel (U, 4U); extra inputs [h0, c0, bias (4U,)?].
/// Saved: S0 = gate activations [i, f, g, o] (B, T, 4U) by time index, S1 = the cell sequence C (B, T, U) and
/// S2 = tanh(C), by processing step. The final cell state is <see cref="SequenceLastStepOp"/> on S1 (differentiable:
/// its gradient reaches this op through S1's gradient buffer).
/// </summary>
internal sealed class FusedLstmOp : Op
{
    public static readonly FusedLstmOp Instance = new();

    public override string Name => "FusedLSTM";

    /// <summary>Runs the sequence; <paramref name="finalC"/> is c_T (B, U) when <paramref name="wantFinalC"/>, else default.</summary>
    public static Tensor Apply(Tensor x, Tensor kernel, Tensor recurrent, Tensor? bias, Tensor h0, Tensor c0, bool goBackwards,
        bool wantFinalC, out Tensor finalC)
    {
        TensorData dx = x.Data, dw = kernel.Data, dr = recurrent.Data, dh0 = h0.Data, dc0 = c0.Data;
        TensorData? db = bias?.Data;
        int batch = dx.Shape[0], steps = dx.Shape[1], features = dx.Shape[2], units = dr.Shape[0];
        Debug.Assert(dw.Shape == new Shape(features, 4 * units) && dr.Shape == new Shape(units, 4 * units));
        Debug.Assert(dh0.Shape == new Shape(batch, units) && dc0.Shape == new Shape(batch, units));
        if (dw.DType != dx.DType || dr.DType != dx.DType || dh0.DType != dx.DType || dc0.DType != dx.DType || (db is not null && db.DType != dx.DType))
            throw new ArgumentException($"LSTM: input {dx.DType}, weights and initial states must share one dtype.");
        var rec = Recorder(dx, dw, dr, db, dh0, dc0);
        var h = Tape.NewResult(new Shape(batch, steps, units), dx.DType);
        TensorData? gates, cells, tanhCells;
        if (dx.DType == DType.Float32)
            Forward<float>(rec, dx, dw, dr, db, dh0, dc0, h, goBackwards, wantFinalC, out gates, out cells, out tanhCells, out finalC);
        else
            Forward<double>(rec, dx, dw, dr, db, dh0, dc0, h, goBackwards, wantFinalC, out gates, out cells, out tanhCells, out finalC);
        if (rec is not null)
        {
            ref var e = ref rec.Record(Instance, h);
            e.A = dx;
            e.B = dw;
            e.C = dr;
            e.ExtraStart = rec.ExtraInputs.Count;
            rec.ExtraInputs.Add(dh0);
            rec.ExtraInputs.Add(dc0);
            if (db is not null) rec.ExtraInputs.Add(db);
            e.ExtraCount = db is null ? 2 : 3;
            e.I1 = goBackwards ? 1 : 0;
            e.S0 = gates;
            e.S1 = cells;
            e.S2 = tanhCells;
            if (wantFinalC) finalC = SequenceLastStepOp.Apply(cells!, h);
        }
        return new Tensor(h);
    }

    private static void Forward<T>(Tape? rec, TensorData x, TensorData w, TensorData r, TensorData? bias, TensorData h0, TensorData c0,
        TensorData h, bool goBackwards, bool wantFinalC, out TensorData? gatesData, out TensorData? cellsData, out TensorData? tanhData, out Tensor finalC)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int batch = x.Shape[0], steps = x.Shape[1], features = x.Shape[2], units = r.Shape[0], g4 = 4 * units;
        int rows = batch * steps, ldA = steps * g4, ldH = steps * units;
        var dtype = x.DType;
        if (rec is null && batch >= TimeMajorMinBatch && steps > 0)
        {
            gatesData = cellsData = tanhData = null;
            ForwardTimeMajor<T>(x, w, r, bias, h0, c0, h, goBackwards, wantFinalC, out finalC);
            return;
        }
        using var scratch = new Scratch<T>(Tape.Current, rows * g4 + 2 * rows * units + g4);
        var a = scratch.Saved(rec, new Shape(batch, steps, g4), dtype, out gatesData);
        var c = scratch.Saved(rec, new Shape(batch, steps, units), dtype, out cellsData);
        var tc = scratch.Saved(rec, new Shape(batch, steps, units), dtype, out tanhData);
        ReadOnlySpan<T> b = bias is not null ? bias.Span<T>() : scratch.Zeroed(g4);

        // x·W for all B·T rows at once; each step then adds h·R into its rows in place and activates them in place.
        MatMulKernels.Gemm<T>(false, false, rows, g4, features, x.Span<T>(), features, w.Span<T>(), g4, a, g4, false);
        var hs = h.Span<T>();
        ReadOnlySpan<T> rk = r.Span<T>(), hInit = h0.Span<T>(), cInit = c0.Span<T>();
        if (rec is null && batch == 1 && typeof(T) == typeof(float))
        {
            OneSeries(steps, units, ref R<T, float>(a), ref R<T, float>(b), ref R<T, float>(rk), ref R<T, float>(hInit), ref R<T, float>(cInit),
                ref R<T, float>(c), ref R<T, float>(hs), goBackwards);
        }
        else
        for (int k = 0; k < steps; k++)
        {
            int t = TimeOf(k, steps, goBackwards);
            var at = a[(t * g4)..];
            if (k == 0)
            {
                MatMulKernels.Gemm<T>(false, false, batch, g4, units, hInit, units, rk, g4, at, ldA, true);
                ForwardStep<T>(batch, units, at, ldA, b, cInit, units, c, tc, hs, ldH);
            }
            else
            {
                MatMulKernels.Gemm<T>(false, false, batch, g4, units, hs[((k - 1) * units)..], ldH, rk, g4, at, ldA, true);
                ForwardStep<T>(batch, units, at, ldA, b, c[((k - 1) * units)..], ldH, c[(k * units)..], tc[(k * units)..], hs[(k * units)..], ldH);
            }
        }

        finalC = default;
        if (wantFinalC && rec is null)
        {
            var fc = Tape.NewResult(new Shape(batch, units), dtype);
            var dst = fc.Span<T>();
            for (int i = 0; i < batch; i++) c.Slice(i * ldH + (steps - 1) * units, units).CopyTo(dst.Slice(i * units, units));
            finalC = new Tensor(fc);
        }
    }

    /// <summary>
    /// Inference on a large batch, time-major (see <see cref="FusedRecurrent.TimeMajorMinBatch"/>): x is transposed to
    /// (T, B, F), so x·W and every step's gate block (B x 4U), h and c are contiguous; H is transposed back to (B, T, U)
    /// at the end. Only two cell-state blocks are kept. The same operations per element as the row path.
    /// </summary>
    private static void ForwardTimeMajor<T>(TensorData x, TensorData w, TensorData r, TensorData? bias, TensorData h0, TensorData c0,
        TensorData h, bool goBackwards, bool wantFinalC, out Tensor finalC) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int batch = x.Shape[0], steps = x.Shape[1], features = x.Shape[2], units = r.Shape[0], g4 = 4 * units;
        int rows = batch * steps, bu = batch * units, bg = batch * g4;
        using var scratch = new Scratch<T>(Tape.Current, rows * features + rows * g4 + rows * units + 3 * bu + g4);
        var xt = scratch.Get(rows * features);
        TimeMajorCopy<T>(x.Span<T>(), xt, batch, steps, features, toTimeMajor: true);
        var a = scratch.Get(rows * g4);
        MatMulKernels.Gemm<T>(false, false, rows, g4, features, xt, features, w.Span<T>(), g4, a, g4, false);
        ReadOnlySpan<T> b = bias is not null ? bias.Span<T>() : scratch.Zeroed(g4);
        var ht = scratch.Get(rows * units);
        Span<T> cA = scratch.Get(bu), cB = scratch.Get(bu), tcs = scratch.Get(bu);
        ReadOnlySpan<T> rk = r.Span<T>(), hInit = h0.Span<T>(), cInit = c0.Span<T>();
        for (int k = 0; k < steps; k++)
        {
            int t = TimeOf(k, steps, goBackwards);
            var at = a.Slice(t * bg, bg);
            ReadOnlySpan<T> hPrev = k == 0 ? hInit : ht.Slice((k - 1) * bu, bu);
            ReadOnlySpan<T> cPrev = k == 0 ? cInit : (k % 2 == 0 ? cB : cA);
            Span<T> cNow = k % 2 == 0 ? cA : cB;
            MatMulKernels.Gemm<T>(false, false, batch, g4, units, hPrev, units, rk, g4, at, g4, true);
            ForwardStep<T>(batch, units, at, g4, b, cPrev, units, cNow, tcs, ht.Slice(k * bu, bu), units);
        }
        TimeMajorCopy<T>(ht, h.Span<T>(), batch, steps, units, toTimeMajor: false);
        finalC = default;
        if (wantFinalC)
        {
            var fc = Tape.NewResult(new Shape(batch, units), x.DType);
            ((steps - 1) % 2 == 0 ? cA : cB).CopyTo(fc.Span<T>());
            finalC = new Tensor(fc);
        }
    }

    /// <summary>
    /// Inference on one series (the latency case): per step the matrix-vector product h·R and one pass over the units
    /// that writes only c and h (no gate activations or tanh(c) are kept for a backward pass). The same operations in
    /// the same order as the batch path, so the same numbers.
    /// </summary>
    private static unsafe void OneSeries(int steps, int units, ref float a, ref float bias, ref float r, ref float h0, ref float c0,
        ref float c, ref float h, bool goBackwards)
    {
        int g4 = 4 * units;
        var (j8, j4) = SplitFloat(units);
        fixed (float* pa = &a, pr = &r, ph = &h, ph0 = &h0)
        {
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
                Step<F8>(units, ref ar, ref bias, ref cPrev, ref ck, ref hk, 0, j8);
                Step<F4>(units, ref ar, ref bias, ref cPrev, ref ck, ref hk, j8, j4);
                Step<F1>(units, ref ar, ref bias, ref cPrev, ref ck, ref hk, j4, units);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Step<V>(int u, ref float a, ref float bias, ref float cPrev, ref float c, ref float h, int j0, int j1)
        where V : struct, ILane<V, float>
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
        where T : unmanaged where V : struct, ILane<V, T>
    {
        nint jf = j + u, jg = j + 2 * u, jo = j + 3 * u;
        i = V.Sigmoid(V.Load(ref a, j) + V.Load(ref bias, j));
        f = V.Sigmoid(V.Load(ref a, jf) + V.Load(ref bias, jf));
        g = V.Tanh(V.Load(ref a, jg) + V.Load(ref bias, jg));
        og = V.Sigmoid(V.Load(ref a, jo) + V.Load(ref bias, jo));
        cn = f * V.Load(ref cPrev, j) + i * g;
    }

    public override void Backward(Tape tape, in TapeEntry e)
    {
        if (e.Out.DType == DType.Float32) Run<float>(tape, e);
        else Run<double>(tape, e);
    }

    private static void Run<T>(Tape tape, in TapeEntry e) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        TensorData x = e.A!, w = e.B!, r = e.C!, h = e.Out, gates = e.S0!, cells = e.S1!, tanhCells = e.S2!;
        var h0 = tape.ExtraInputs[e.ExtraStart];
        var c0 = tape.ExtraInputs[e.ExtraStart + 1];
        var bias = e.ExtraCount > 2 ? tape.ExtraInputs[e.ExtraStart + 2] : null;
        bool goBackwards = e.I1 != 0;
        int batch = x.Shape[0], steps = x.Shape[1], features = x.Shape[2], units = r.Shape[0], g4 = 4 * units;
        int rows = batch * steps, ldA = steps * g4, ldH = steps * units;

        var dH = tape.GradOf<T>(h);
        // Gradient reaching the cell sequence directly (the final cell state used downstream), if any.
        ReadOnlySpan<T> dC = tape.HasGrad(cells) ? tape.Grad<T>(cells) : default;
        ReadOnlySpan<T> a = gates.Span<T>(), c = cells.Span<T>(), tc = tanhCells.Span<T>(), hs = h.Span<T>();
        var dZ = tape.Scratch<T>(rows * g4);
        var dhNext = tape.Scratch<T>(batch * units);
        var dcNext = tape.Scratch<T>(batch * units);
        dhNext.Clear();
        dcNext.Clear();
        var rt = tape.Scratch<T>(g4 * units);
        Transpose<T>(r.Span<T>(), units, g4, rt);

        for (int k = steps - 1; k >= 0; k--)
        {
            int t = TimeOf(k, steps, goBackwards);
            var dzt = dZ[(t * g4)..];
            ReadOnlySpan<T> cPrev = k == 0 ? c0.Span<T>() : c[((k - 1) * units)..];
            int ldPrev = k == 0 ? units : ldH;
            BackwardStep<T>(batch, units, dH[(k * units)..], ldH, dC.IsEmpty ? default : dC[(k * units)..], dhNext, dcNext,
                a[(t * g4)..], ldA, tc[(k * units)..], cPrev, ldPrev, dzt);
            if (k > 0 || h0.RequiresGrad)
                MatMulKernels.Gemm<T>(false, false, batch, units, g4, dzt, ldA, rt, units, dhNext, units, false);
        }

        AccumulateInto<T>(tape, h0, dhNext);
        AccumulateInto<T>(tape, c0, dcNext);
        if (w.RequiresGrad)
            MatMulKernels.Gemm<T>(true, false, features, g4, rows, x.Span<T>(), features, dZ, g4, tape.Grad<T>(w), g4, true);
        if (r.RequiresGrad)
        {
            var hPrev = tape.Scratch<T>(rows * units);
            BuildPreviousStates<T>(hs, h0.Span<T>(), batch, steps, units, goBackwards, hPrev);
            MatMulKernels.Gemm<T>(true, false, units, g4, rows, hPrev, units, dZ, g4, tape.Grad<T>(r), g4, true);
        }
        if (bias is not null && bias.RequiresGrad) AddColumnSums<T>(dZ, rows, g4, g4, tape.Grad<T>(bias));
        if (x.RequiresGrad)
            MatMulKernels.Gemm<T>(false, true, rows, features, g4, dZ, g4, w.Span<T>(), g4, tape.Grad<T>(x), features, true);
    }

    // ---------------------------------------------------------------- per-step kernels

    /// <summary>
    /// In place on the step's gate rows a (rows × 4U, lda): z + b → [σ(z_i), σ(z_f), tanh(z_g), σ(z_o)]; then
    /// c = f ⊙ cPrev + i ⊙ g, tc = tanh(c), h = o ⊙ tc (c, tc, h with leading dimension ldh).
    /// </summary>
    private static void ForwardStep<T>(int rows, int u, Span<T> a, int lda, ReadOnlySpan<T> bias, ReadOnlySpan<T> cPrev, int ldPrev,
        Span<T> c, Span<T> tc, Span<T> h, int ldh) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            var (j8, j4) = SplitFloat(u);
            ref float pa = ref R<T, float>(a);
            ref float pb = ref R<T, float>(bias);
            ref float pcp = ref R<T, float>(cPrev);
            ref float pc = ref R<T, float>(c);
            ref float ptc = ref R<T, float>(tc);
            ref float ph = ref R<T, float>(h);
            Fwd<float, F8>(rows, u, ref pa, lda, ref pb, ref pcp, ldPrev, ref pc, ref ptc, ref ph, ldh, 0, j8);
            Fwd<float, F4>(rows, u, ref pa, lda, ref pb, ref pcp, ldPrev, ref pc, ref ptc, ref ph, ldh, j8, j4);
            Fwd<float, F1>(rows, u, ref pa, lda, ref pb, ref pcp, ldPrev, ref pc, ref ptc, ref ph, ldh, j4, u);
        }
        else
        {
            Fwd<double, D1>(rows, u, ref R<T, double>(a), lda, ref R<T, double>(bias), ref R<T, double>(cPrev), ldPrev,
                ref R<T, double>(c), ref R<T, double>(tc), ref R<T, double>(h), ldh, 0, u);
        }
    }

    private static void Fwd<T, V>(int rows, int u, ref T a, int lda, ref T bias, ref T cPrev, int ldPrev, ref T c, ref T tc, ref T h, int ldh, int j0, int j1)
        where T : unmanaged where V : struct, ILane<V, T>
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
    private static void BackwardStep<T>(int rows, int u, ReadOnlySpan<T> dH, int ldh, ReadOnlySpan<T> dC, ReadOnlySpan<T> dhNext, Span<T> dcNext,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> tc, ReadOnlySpan<T> cPrev, int ldPrev, Span<T> dz) where T : unmanaged
    {
        bool hasDc = !dC.IsEmpty;
        if (!hasDc) dC = dH;   // any valid reference; not read
        if (typeof(T) == typeof(float))
        {
            var (j8, j4) = SplitFloat(u);
            ref float pdH = ref R<T, float>(dH);
            ref float pdC = ref R<T, float>(dC);
            ref float pdh = ref R<T, float>(dhNext);
            ref float pdc = ref R<T, float>(dcNext);
            ref float pa = ref R<T, float>(a);
            ref float ptc = ref R<T, float>(tc);
            ref float pcp = ref R<T, float>(cPrev);
            ref float pdz = ref R<T, float>(dz);
            Bwd<float, F8>(rows, u, ref pdH, ldh, hasDc, ref pdC, ref pdh, ref pdc, ref pa, lda, ref ptc, ref pcp, ldPrev, ref pdz, 0, j8);
            Bwd<float, F4>(rows, u, ref pdH, ldh, hasDc, ref pdC, ref pdh, ref pdc, ref pa, lda, ref ptc, ref pcp, ldPrev, ref pdz, j8, j4);
            Bwd<float, F1>(rows, u, ref pdH, ldh, hasDc, ref pdC, ref pdh, ref pdc, ref pa, lda, ref ptc, ref pcp, ldPrev, ref pdz, j4, u);
        }
        else
        {
            Bwd<double, D1>(rows, u, ref R<T, double>(dH), ldh, hasDc, ref R<T, double>(dC), ref R<T, double>(dhNext), ref R<T, double>(dcNext),
                ref R<T, double>(a), lda, ref R<T, double>(tc), ref R<T, double>(cPrev), ldPrev, ref R<T, double>(dz), 0, u);
        }
    }

    private static void Bwd<T, V>(int rows, int u, ref T dH, int ldh, bool hasDc, ref T dC, ref T dhNext, ref T dcNext,
        ref T a, int lda, ref T tc, ref T cPrev, int ldPrev, ref T dz, int j0, int j1)
        where T : unmanaged where V : struct, ILane<V, T>
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
