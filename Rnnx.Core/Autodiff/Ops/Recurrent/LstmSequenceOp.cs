using System.Diagnostics;
using System.Numerics;
using Rnnx.Kernels;
using static Rnnx.Autodiff.Ops.RecurrentOpSupport;
using static Rnnx.Kernels.LstmKernels;
using static Rnnx.Kernels.RecurrentKernels;

namespace Rnnx.Autodiff.Ops;

/// <summary>
/// A whole LSTM sequence as one tape entry (<see cref="Tensor.LstmSequence"/>; Keras semantics: z = (x·W + h·R) + b, gates i, f, g, o;
/// c_k = f ⊙ c_{k-1} + i ⊙ g; h_k = o ⊙ tanh(c_k)). Output: the hidden sequence H (B, T, U) in processing order.
/// Saved for backward: the gate activations [i, f, g, o] (B, T, 4U) by time index and the cell sequence C (B, T, U) by
/// processing step; the backward recomputes tanh(C) from C as each step reads it (the step kernel's tanh, so the same bits),
/// writes dZ over the gates and then the previous states over C. With dropout masks whose products run all gates in one pass
/// (<see cref="SequenceMasks.KeepsMaskedRows"/>), the masked rows those products multiplied (h ⊙ m_g, x ⊙ m_g by row) are saved too, and the weight
/// gradients read them. The final cell state is <see cref="SequenceLastStepOp"/> on the saved cell sequence
/// (differentiable: its gradient reaches this op through that sequence's gradient buffer). With diagonal peephole
/// weights P = [p_i, p_f, p_o] (3U, PeepholeLSTMCell) the input and forget gates also see c_{k-1} and the output gate c_k;
/// those sequences run on the row path (the one-series and time-major inference paths have no peephole form).
/// </summary>
internal sealed class LstmSequenceOp : Op
{
    public static readonly LstmSequenceOp Instance = new();

    public override string Name => "LstmSequence";

    /// <summary>The op's inputs, saved activations and arguments (stored in the tape entry's slots by <see cref="Record"/>).</summary>
    private readonly struct Saved
    {
        public TensorData X { get; init; }
        public TensorData Kernel { get; init; }
        public TensorData RecurrentKernel { get; init; }
        public TensorData H0 { get; init; }
        public TensorData C0 { get; init; }
        public TensorData? Bias { get; init; }
        public TensorData Gates { get; init; }
        public TensorData Cells { get; init; }
        public bool GoBackwards { get; init; }
        public SequenceMasks Masks { get; init; }
        public TensorData? Peephole { get; init; }
        public TensorData? KeptRows { get; init; }

        public void Record(Tape tape, TensorData hidden)
        {
            ref var e = ref tape.Record(Instance, hidden);
            e.A = X;
            e.B = Kernel;
            e.C = RecurrentKernel;
            e.ExtraStart = tape.ExtraInputs.Count;
            tape.ExtraInputs.Add(H0);
            tape.ExtraInputs.Add(C0);
            if (Bias is not null) tape.ExtraInputs.Add(Bias);
            e.ExtraCount = (Bias is null ? 2 : 3) + Masks.AppendTo(tape);
            if (Peephole is not null)
            {
                tape.ExtraInputs.Add(Peephole);
                e.ExtraCount++;
            }
            e.S0 = Gates;
            e.S1 = Cells;
            e.S2 = KeptRows;
            e.SetArgs(new Flags(GoBackwards, Bias is not null, Masks.Input is not null, Masks.Recurrent is not null, Peephole is not null));
        }

        public static Saved Of(Tape tape, in TapeEntry e) => new()
        {
            X = e.A!,
            Kernel = e.B!,
            RecurrentKernel = e.C!,
            H0 = tape.ExtraInputs[e.ExtraStart],
            C0 = tape.ExtraInputs[e.ExtraStart + 1],
            Bias = e.GetArgs<Flags>().HasBias ? tape.ExtraInputs[e.ExtraStart + 2] : null,
            Gates = e.S0!,
            Cells = e.S1!,
            GoBackwards = e.GetArgs<Flags>().GoBackwards,
            Masks = SequenceMasks.Read(tape, e.ExtraStart + (e.GetArgs<Flags>().HasBias ? 3 : 2), e.GetArgs<Flags>().InputMasks, e.GetArgs<Flags>().RecurrentMasks),
            Peephole = e.GetArgs<Flags>().HasPeephole ? tape.ExtraInputs[e.ExtraStart + e.ExtraCount - 1] : null,
            KeptRows = e.S2,
        };

        private readonly record struct Flags(bool GoBackwards, bool HasBias, bool InputMasks, bool RecurrentMasks, bool HasPeephole);
    }

    /// <summary>Runs the sequence (arguments checked by <see cref="Tensor.LstmSequence"/>); <paramref name="finalC"/> is c_T (B, U) when <paramref name="wantFinalC"/>, else default.</summary>
    public static Tensor Apply(Tensor x, Tensor kernel, Tensor recurrent, Tensor? bias, Tensor h0, Tensor c0, bool goBackwards,
        bool wantFinalC, SequenceMasks masks, out Tensor finalC, Tensor? peephole = null)
    {
        TensorData dx = x.Data, dw = kernel.Data, dr = recurrent.Data, dh0 = h0.Data, dc0 = c0.Data;
        TensorData? db = bias?.Data, dp = peephole?.Data;
        int batch = dx.Shape[0], steps = dx.Shape[1], units = dr.Shape[0];
        var rec = Recorder(dx, dw, dr, db, dh0, dc0) ?? (dp is { RequiresGrad: true } ? Tape.RecordingTape() : null);
        var h = Tape.NewResult(new Shape(batch, steps, units), dx.DType);
        TensorData? gates, cells, kept;
        if (dx.DType == DType.Float32)
            Forward<float>(rec, dx, dw, dr, db, dh0, dc0, h, goBackwards, wantFinalC, masks, out gates, out cells, out kept, out finalC, dp);
        else
            Forward<double>(rec, dx, dw, dr, db, dh0, dc0, h, goBackwards, wantFinalC, masks, out gates, out cells, out kept, out finalC, dp);
        if (rec is not null)
        {
            new Saved
            {
                X = dx, Kernel = dw, RecurrentKernel = dr, H0 = dh0, C0 = dc0, Bias = db,
                Gates = gates!, Cells = cells!, GoBackwards = goBackwards, Masks = masks, Peephole = dp, KeptRows = kept,
            }.Record(rec, h);
            if (wantFinalC) finalC = SequenceLastStepOp.Apply(cells!, h);
        }
        return new Tensor(h);
    }

    private static void Forward<T>(Tape? rec, TensorData x, TensorData w, TensorData r, TensorData? bias, TensorData h0, TensorData c0,
        TensorData h, bool goBackwards, bool wantFinalC, SequenceMasks masks, out TensorData? gatesData, out TensorData? cellsData,
        out TensorData? keptData, out Tensor finalC, TensorData? peephole) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int batch = x.Shape[0], steps = x.Shape[1], features = x.Shape[2], units = r.Shape[0], g4 = 4 * units;
        int rows = batch * steps, ldA = steps * g4, ldH = steps * units;
        var dtype = x.DType;
        ReadOnlySpan<T> p = peephole is not null ? peephole.Span<T>() : default;
        keptData = null;
        if (rec is null && batch >= TimeMajorMinBatch && steps > 0 && !masks.Any && peephole is null)
        {
            gatesData = cellsData = null;
            ForwardTimeMajor<T>(x, w, r, bias, h0, c0, h, goBackwards, wantFinalC, out finalC);
            return;
        }
        // R packed once (by gate blocks with recurrent dropout); one series in inference multiplies by R with the
        // matrix-vector kernel instead
        bool oneSeries = rec is null && batch == 1 && typeof(T) == typeof(float) && peephole is null && masks.Recurrent is null;
        int packedLength = oneSeries ? 0
            : masks.Recurrent is null ? PackedGemm.PackedLength<T>(units, g4) : SequenceMasks.PackedGatesLength<T>(4, units, units, false);
        // the plain path with a recurrent kernel resident in L2 runs each step in row chunks, x_t·W included (StepInChunks)
        bool chunked = !oneSeries && masks.Input is null && masks.Recurrent is null && ChunksFit<T>(units);
        int packedInputLength = masks.Input is not null ? SequenceMasks.PackedGatesLength<T>(4, features, units, false)
            : chunked ? PackedGemm.PackedLength<T>(features, g4) : 0;
        // one series: R packed for the matrix-vector products once it outgrows L1 (LstmKernels.OneSeriesPackedLength)
        int oneSeriesPacked = oneSeries ? checked((int)OneSeriesPackedLength(steps, units)) : 0;
        using var scratch = new Scratch<T>(Tape.Current, rows * g4 + (chunked ? 1 : 2) * rows * units + g4 + packedLength + packedInputLength + oneSeriesPacked
            + (masks.Input is null ? 0 : SequenceMasks.GemmScratchLength<T>(4, rows, units, features))
            + (masks.Recurrent is null ? 0 : SequenceMasks.GemmScratchLength<T>(4, batch, units, units)));
        var a = scratch.Saved(rec, new Shape(batch, steps, g4), dtype, out gatesData);
        var c = scratch.Saved(rec, new Shape(batch, steps, units), dtype, out cellsData);
        // not kept: the backward recomputes tanh(C) from C (CellTanhKernels, same bits); the chunked steps do not write it
        var tc = chunked ? default : scratch.Get(rows * units);
        ReadOnlySpan<T> b = bias is not null ? bias.Span<T>() : scratch.Zeroed(g4);
        // the dropout-masked rows each product multiplies, kept for the weight gradients (h ⊙ m_g, then x ⊙ m_g, per row)
        var keep = KeptRows<T>(rec is not null, masks, features, units);
        Span<T> kept = keep.Width == 0 ? default : scratch.Saved(rec, new Shape(batch, steps, keep.Width), dtype, out keptData);

        // x·W for all B·T rows at once; each step then adds h·R into its rows in place and activates them in place.
        if (masks.Input is { } mx)
        {
            var packedW = scratch.Get(packedInputLength);
            SequenceMasks.PackGates<T>(4, features, units, w.Span<T>(), g4, false, packedW);
            if (keep.Input)
                SequenceMasks.MaskedGemm<T>(4, rows, units, features, x.Span<T>(), features, mx.Span<T>(), steps, packedW, a, g4, false, kept[keep.InputColumn..], keptLd: keep.Width);
            else
                SequenceMasks.MaskedGemm<T>(4, rows, units, features, x.Span<T>(), features, mx.Span<T>(), steps, packedW, a, g4, false, scratch.Get(SequenceMasks.GemmScratchLength<T>(4, rows, units, features)));
        }
        else if (!chunked) MatMulKernels.Gemm<T>(false, false, rows, g4, features, x.Span<T>(), features, w.Span<T>(), g4, a, g4, false);
        var hs = h.Span<T>();
        ReadOnlySpan<T> rk = r.Span<T>(), hInit = h0.Span<T>(), cInit = c0.Span<T>();
        if (masks.Recurrent is { } mr)
        {
            var packedGates = scratch.Get(packedLength);
            SequenceMasks.PackGates<T>(4, units, units, rk, g4, false, packedGates);
            ForwardMasked<T>(batch, steps, units, a, b, packedGates, hInit, cInit, c, tc, hs, goBackwards, mr.Span<T>(),
                keep.Recurrent ? kept : scratch.Get(SequenceMasks.GemmScratchLength<T>(4, batch, units, units)), keep.Recurrent ? keep.Width : 0, p);
        }
        else if (oneSeries)
        {
            OneSeries(steps, units, AsFloat(a), AsFloat(b), AsFloat(rk), AsFloat(hInit), AsFloat(cInit), AsFloat(c), AsFloat(hs), goBackwards,
                AsFloat(scratch.Get(oneSeriesPacked)));
        }
        else if (chunked)
        {
            var packedR = scratch.Get(packedLength);
            PackedGemm.Pack<T>(false, units, g4, rk, g4, packedR);
            var packedW = scratch.Get(packedInputLength);
            PackedGemm.Pack<T>(false, features, g4, w.Span<T>(), g4, packedW);
            StepInChunks<T>(batch, steps, features, units, x.Span<T>(), w.Span<T>(), packedW, packedR, b, hInit, cInit, a, c, hs, goBackwards, p);
        }
        else
        {
            var packedR = scratch.Get(packedLength);
            PackedGemm.Pack<T>(false, units, g4, rk, g4, packedR);
            for (int k = 0; k < steps; k++)
            {
                int t = TimeOf(k, steps, goBackwards);
                var at = a[(t * g4)..];
                if (k == 0)
                {
                    PackedGemm.Gemm<T>(false, batch, g4, units, hInit, units, packedR, at, ldA, true);
                    ForwardStep<T>(batch, units, at, ldA, b, cInit, units, c, tc, hs, ldH, p);
                }
                else
                {
                    PackedGemm.Gemm<T>(false, batch, g4, units, hs[((k - 1) * units)..], ldH, packedR, at, ldA, true);
                    ForwardStep<T>(batch, units, at, ldA, b, c[((k - 1) * units)..], ldH, c[(k * units)..], tc[(k * units)..], hs[(k * units)..], ldH, p);
                }
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
    /// Whether the recurrent kernel is small enough for <see cref="StepInChunks{T}"/>: its packed copy stays in L2 while
    /// chunk after chunk re-reads it (<see cref="LstmBatchInference.ChunkRows{T}"/> gives a chunk smaller than an
    /// unbounded batch exactly then); a larger one runs each step over all rows, x·W for the whole sequence first.
    /// </summary>
    private static bool ChunksFit<T>(int units) where T : unmanaged => StepsInChunks && LstmBatchInference.ChunkRows<T>(int.MaxValue, units) < int.MaxValue;

    /// <summary>
    /// Whether training steps on this thread may run in row chunks (always, except in the tests' and benchmarks'
    /// baseline; the results are the same). Per thread, so that switching it off for a baseline changes nothing another
    /// thread runs, and a forward and its backward on one thread see the same setting.
    /// </summary>
    internal static bool StepsInChunks { get => !t_wholeSteps; set => t_wholeSteps = !value; }

    [ThreadStatic]
    private static bool t_wholeSteps;

    /// <summary>
    /// The training forward's step loop in row chunks (<see cref="LstmBatchInference.ChunkRows{T}"/>, all rows when the
    /// step's products are split over a team): a chunk's gate rows at time t are written by x_t·W, h·R is added and the
    /// gate math runs on them while they are in L1, instead of x·W for the whole sequence up front and two passes per
    /// step over all rows' gates, which at U ≥ 64 and 32 rows no longer fit L1. Each element goes through the same
    /// products (the packed engine's arithmetic does not depend on the rows it is given, and equals the unpacked one;
    /// one feature: <see cref="LstmBatchInference.RankOne{T}"/>, the same multiply-add) and the same gate math, so the
    /// same numbers as the unchunked loop. Saves the activated gates in <paramref name="a"/> (B, T, 4U), c and h by
    /// processing step; tanh(c) is not written.
    /// </summary>
    private static void StepInChunks<T>(int batch, int steps, int features, int units, ReadOnlySpan<T> x, ReadOnlySpan<T> w,
        ReadOnlySpan<T> packedW, ReadOnlySpan<T> packedR, ReadOnlySpan<T> b, ReadOnlySpan<T> hInit, ReadOnlySpan<T> cInit,
        Span<T> a, Span<T> c, Span<T> hs, bool goBackwards, ReadOnlySpan<T> peephole)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int g4 = 4 * units, ldA = steps * g4, ldH = steps * units, ldX = steps * features;
        int chunk = TeamBoard.CurrentSize > 1 ? batch : LstmBatchInference.ChunkRows<T>(batch, units);
        bool rankOne = features == 1 && PackedGemmCore.PanelWidth<T>(g4) != 0;
        for (int k = 0; k < steps; k++)
        {
            int t = TimeOf(k, steps, goBackwards);
            ReadOnlySpan<T> hPrev = k == 0 ? hInit : hs[((k - 1) * units)..], cPrev = k == 0 ? cInit : c[((k - 1) * units)..];
            int ldPrev = k == 0 ? units : ldH;
            for (int s = 0; s < batch; s += chunk)
            {
                int rows = Math.Min(chunk, batch - s);
                var at = a[(s * ldA + t * g4)..];
                var xt = x[(s * ldX + t * features)..];
                if (rankOne) LstmBatchInference.RankOne<T>(rows, g4, xt, ldX, w, at, ldA);
                else PackedGemm.Gemm<T>(false, rows, g4, features, xt, ldX, packedW, at, ldA, false);
                PackedGemm.Gemm<T>(false, rows, g4, units, hPrev[(s * ldPrev)..], ldPrev, packedR, at, ldA, true);
                int o = s * ldH + k * units;
                ForwardStep<T>(rows, units, at, ldA, b, cPrev[(s * ldPrev)..], ldPrev, c[o..], default, hs[o..], ldH, peephole);
            }
        }
    }

    /// <summary>Which masked rows the forward keeps for the backward: (h ⊙ m_g) at column 0, (x ⊙ m_g) at InputColumn; Width per row.</summary>
    private readonly record struct Kept(bool Recurrent, bool Input, int InputColumn, int Width);

    /// <summary>
    /// The masked rows kept when recording: those whose product runs all gates in one pass (<see cref="SequenceMasks.KeepsMaskedRows"/>),
    /// so that the weight gradients read them instead of masking the rows again. Forward and backward both ask here.
    /// </summary>
    private static Kept KeptRows<T>(bool recording, SequenceMasks masks, int features, int units) where T : unmanaged
    {
        bool recurrent = recording && masks.Recurrent is not null && SequenceMasks.KeepsMaskedRows<T>(4, units, units);
        bool input = recording && masks.Input is not null && SequenceMasks.KeepsMaskedRows<T>(4, units, features);
        int inputColumn = recurrent ? 4 * units : 0;
        return new Kept(recurrent, input, inputColumn, inputColumn + (input ? 4 * features : 0));
    }

    /// <summary>
    /// The step loop with recurrent dropout: each step adds (h ⊙ m_g)·R_g per gate instead of h·R (the row path
    /// otherwise), the R_g packed by <see cref="SequenceMasks.PackGates"/>. With <paramref name="keptWidth"/> the
    /// masked rows h ⊙ m_g of the step at time t go into row (b, t) of <paramref name="hm"/> (rows keptWidth wide) and stay
    /// there; otherwise <paramref name="hm"/> is one step's scratch.
    /// </summary>
    private static void ForwardMasked<T>(int batch, int steps, int units, Span<T> a, ReadOnlySpan<T> b, ReadOnlySpan<T> packedGates, ReadOnlySpan<T> hInit,
        ReadOnlySpan<T> cInit, Span<T> c, Span<T> tc, Span<T> hs, bool goBackwards, ReadOnlySpan<T> mr, Span<T> hm, int keptWidth, ReadOnlySpan<T> peephole)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int g4 = 4 * units, ldA = steps * g4, ldH = steps * units;
        for (int k = 0; k < steps; k++)
        {
            int t = TimeOf(k, steps, goBackwards);
            var at = a[(t * g4)..];
            ReadOnlySpan<T> hPrev = k == 0 ? hInit : hs[((k - 1) * units)..], cPrev = k == 0 ? cInit : c[((k - 1) * units)..];
            int ldPrev = k == 0 ? units : ldH;
            if (keptWidth > 0) SequenceMasks.MaskedGemm<T>(4, batch, units, units, hPrev, ldPrev, mr, 1, packedGates, at, ldA, true, hm[(t * keptWidth)..], keptLd: steps * keptWidth);
            else SequenceMasks.MaskedGemm<T>(4, batch, units, units, hPrev, ldPrev, mr, 1, packedGates, at, ldA, true, hm);
            ForwardStep<T>(batch, units, at, ldA, b, cPrev, ldPrev, c[(k * units)..], tc[(k * units)..], hs[(k * units)..], ldH, peephole);
        }
    }

    /// <summary>
    /// Inference on a large batch, time-major (see <see cref="RecurrentOpSupport.TimeMajorMinBatch"/>): each step is
    /// <see cref="LstmBatchInference.Step{T}"/> (x_t·W with the rows of x at step t read in place, strided by T·F, plus
    /// h·R, then the gate math, chunk by chunk while a chunk's gates are in L1), h written into the (B, T, U) output and
    /// read back from it as the next step's h_{k-1}; only two blocks of c are kept. The same operations per element as
    /// the row path (x·W, then h·R added).
    /// </summary>
    private static void ForwardTimeMajor<T>(TensorData x, TensorData w, TensorData r, TensorData? bias, TensorData h0, TensorData c0,
        TensorData h, bool goBackwards, bool wantFinalC, out Tensor finalC) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int batch = x.Shape[0], steps = x.Shape[1], features = x.Shape[2], units = r.Shape[0], g4 = 4 * units;
        int bu = batch * units, ldx = steps * features, ldh = steps * units;
        int packedLength = PackedGemm.PackedLength<T>(units, g4), packedInputLength = PackedGemm.PackedLength<T>(features, g4);
        int stepScratch = LstmBatchInference.ScratchLength<T>(batch, units);
        using var scratch = new Scratch<T>(Tape.Current, 2 * bu + g4 + packedLength + packedInputLength + stepScratch);
        ReadOnlySpan<T> b = bias is not null ? bias.Span<T>() : scratch.Zeroed(g4);
        Span<T> cA = scratch.Get(bu), cB = scratch.Get(bu), work = scratch.Get(stepScratch);
        ReadOnlySpan<T> xs = x.Span<T>(), hInit = h0.Span<T>(), cInit = c0.Span<T>();
        Span<T> output = h.Span<T>();
        ReadOnlySpan<T> kernel = w.Span<T>();
        var packedW = scratch.Get(packedInputLength);
        PackedGemm.Pack<T>(false, features, g4, kernel, g4, packedW);
        var packedR = scratch.Get(packedLength);
        PackedGemm.Pack<T>(false, units, g4, r.Span<T>(), g4, packedR);
        for (int k = 0; k < steps; k++)
        {
            int t = TimeOf(k, steps, goBackwards);
            ReadOnlySpan<T> hPrev = k == 0 ? hInit : output[((k - 1) * units)..];
            ReadOnlySpan<T> cPrev = k == 0 ? cInit : (k % 2 == 0 ? cB : cA);
            Span<T> cNow = k % 2 == 0 ? cA : cB;
            LstmBatchInference.Step<T>(batch, units, features, xs[(t * features)..], ldx, kernel, packedW, packedR, b, hPrev, k == 0 ? units : ldh,
                cPrev, cNow, output[(k * units)..], ldh, work);
        }
        finalC = default;
        if (wantFinalC)
        {
            var fc = Tape.NewResult(new Shape(batch, units), x.DType);
            ((steps - 1) % 2 == 0 ? cA : cB).CopyTo(fc.Span<T>());
            finalC = new Tensor(fc);
        }
    }

    public override void Backward(Tape tape, in TapeEntry e)
    {
        if (e.Out.DType == DType.Float32) Run<float>(tape, e);
        else Run<double>(tape, e);
    }

    /// <summary>
    /// Where the backward reads tanh(C) from: without peepholes the saved cell sequence itself, whose tanh each step's
    /// backward takes as it reads it (<see cref="BackwardStep{T}"/>), so no B·T·U buffer is added; the buffer is free
    /// after the steps (nothing reads C after this op) and holds the previous states for the weight gradients. With
    /// peepholes the gradient of p_o reads c_k itself after the step, so tanh(C) goes into a scratch, computed here.
    /// </summary>
    private static Span<T> TanhOfCellsBuffer<T>(Tape tape, TensorData cells, bool peephole) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var c = cells.Span<T>();
        if (!peephole) return c;
        var tanhC = tape.Scratch<T>(c.Length);
        CellTanhKernels.Tanh<T>(c, tanhC);
        return tanhC;
    }

    private static void Run<T>(Tape tape, in TapeEntry e) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var saved = Saved.Of(tape, e);
        TensorData x = saved.X, w = saved.Kernel, r = saved.RecurrentKernel, h0 = saved.H0, c0 = saved.C0, h = e.Out;
        TensorData gates = saved.Gates, cells = saved.Cells;
        var bias = saved.Bias;
        var masks = saved.Masks;
        var peephole = saved.Peephole;
        ReadOnlySpan<T> p = peephole is not null ? peephole.Span<T>() : default;
        Span<T> gp = peephole is { RequiresGrad: true } ? tape.Grad<T>(peephole) : default;
        bool goBackwards = saved.GoBackwards;
        int batch = x.Shape[0], steps = x.Shape[1], features = x.Shape[2], units = r.Shape[0], g4 = 4 * units;
        int rows = batch * steps, ldA = steps * g4, ldH = steps * units;

        var dH = tape.GradOf<T>(h);
        // Gradient reaching the cell sequence directly (the final cell state used downstream), if any.
        ReadOnlySpan<T> dC = tape.HasGrad(cells) ? tape.Grad<T>(cells) : default;
        ReadOnlySpan<T> a = gates.Span<T>(), c = cells.Span<T>(), hs = h.Span<T>();
        var tanhC = TanhOfCellsBuffer<T>(tape, cells, peephole is not null);
        ReadOnlySpan<T> tc = tanhC;
        // dZ overwrites the gate activations, which nothing reads after this backward: a step reads its own gates
        // before it writes their gradients (element by element), and no other step reads them
        var dZ = gates.Span<T>();
        var dhNext = tape.Scratch<T>(batch * units);
        var dcNext = tape.Scratch<T>(batch * units);
        dhNext.Clear();
        dcNext.Clear();
        // op(B) = Rᵀ (4U x U) for dh = dZ·Rᵀ, packed once; with recurrent dropout by gate blocks R_gᵀ
        Span<T> packedRt;
        if (masks.Recurrent is null)
        {
            packedRt = tape.Scratch<T>(PackedGemm.PackedLength<T>(g4, units));
            PackedGemm.Pack<T>(true, g4, units, r.Span<T>(), g4, packedRt);
        }
        else
        {
            packedRt = tape.Scratch<T>(SequenceMasks.PackedGatesLength<T>(4, units, units, true));
            SequenceMasks.PackGates<T>(4, units, units, r.Span<T>(), g4, true, packedRt);
        }
        var stepScratch = masks.Recurrent is null ? default : tape.Scratch<T>(SequenceMasks.InputGradScratchLength<T>(4, batch, units, units));

        // row chunks as in the forward (a chunk's dZ rows still in L1 when dh = dZ·Rᵀ reads them; a row's backward
        // reads and writes only that row of dhNext and dcNext); whole steps with recurrent dropout or peepholes
        bool chunked = masks.Recurrent is null && peephole is null && TeamBoard.CurrentSize == 1 && ChunksFit<T>(units);
        int chunk = chunked ? LstmBatchInference.ChunkRows<T>(batch, units) : batch;
        for (int k = steps - 1; k >= 0; k--)
        {
            int t = TimeOf(k, steps, goBackwards);
            ReadOnlySpan<T> cPrev = k == 0 ? c0.Span<T>() : c[((k - 1) * units)..];
            int ldPrev = k == 0 ? units : ldH;
            for (int s = 0; s < batch; s += chunk)
            {
                int n = Math.Min(chunk, batch - s);
                int oa = s * ldA + t * g4, oh = s * ldH + k * units, ou = s * units;
                var dzt = dZ[oa..];
                BackwardStep<T>(n, units, dH[oh..], ldH, dC.IsEmpty ? default : dC[oh..], dhNext[ou..], dcNext[ou..],
                    a[oa..], ldA, tc[oh..], cPrev[(s * ldPrev)..], ldPrev, dzt, p, tanhOfTc: peephole is null);
                if (k > 0)
                {
                    int tNext = TimeOf(k - 1, steps, goBackwards);
                    PrefetchBackwardStep<T>(n, units, a[(s * ldA + tNext * g4)..], ldA, tc[(oh - units)..],
                        k == 1 ? c0.Span<T>()[ou..] : c[(oh - 2 * units)..], k == 1 ? units : ldH, dH[(oh - units)..], ldH);
                }
                if (!gp.IsEmpty) AccumulatePeepholeGradient<T>(n, units, dzt, ldA, cPrev, ldPrev, c[oh..], ldH, gp);
                if (k == 0 && !h0.RequiresGrad) continue;
                if (masks.Recurrent is { } mr)
                {
                    dhNext.Clear();
                    SequenceMasks.MaskedGemmInputGrad<T>(4, batch, units, units, dzt, ldA, packedRt, mr.Span<T>(), 1, dhNext, units, stepScratch);
                }
                else PackedGemm.Gemm<T>(false, n, units, g4, dzt, ldA, packedRt, dhNext[ou..], units, false);
            }
        }

        tape.ReleaseOutputGradient(e);
        AccumulateInto<T>(tape, h0, dhNext);
        AccumulateInto<T>(tape, c0, dcNext);
        var keep = KeptRows<T>(saved.KeptRows is not null, masks, features, units);
        ReadOnlySpan<T> kept = saved.KeptRows is { } keptRows ? keptRows.Span<T>() : default;
        WeightGradients<T>(tape, x, w, r, bias, h0, hs, masks, keep, kept, dZ, tanhC, batch, steps, goBackwards);
        if (x.RequiresGrad)
        {
            if (masks.Input is { } mx)
            {
                var packedWt = tape.Scratch<T>(SequenceMasks.PackedGatesLength<T>(4, features, units, true));
                SequenceMasks.PackGates<T>(4, features, units, w.Span<T>(), g4, true, packedWt);
                SequenceMasks.MaskedGemmInputGrad<T>(4, rows, units, features, dZ, g4, packedWt, mx.Span<T>(), steps, tape.Grad<T>(x), features,
                    tape.Scratch<T>(SequenceMasks.InputGradScratchLength<T>(4, rows, units, features)));
            }
            else MatMulKernels.Gemm<T>(false, true, rows, features, g4, dZ, g4, w.Span<T>(), g4, tape.Grad<T>(x), features, true);
        }
    }

    /// <summary>
    /// The kernel's (xᵀ·dZ), the recurrent kernel's (H_prevᵀ·dZ, H_prev built over <paramref name="hPrev"/>) and the
    /// bias's (dZ's column sums) gradients. Without dropout masks the three share one pass over dZ
    /// (<see cref="WeightGradientGemm"/>: the same bits as three separate calls).
    /// </summary>
    private static void WeightGradients<T>(Tape tape, TensorData x, TensorData w, TensorData r, TensorData? bias, TensorData h0,
        ReadOnlySpan<T> hs, SequenceMasks masks, Kept keep, ReadOnlySpan<T> kept, ReadOnlySpan<T> dZ, Span<T> hPrev, int batch, int steps,
        bool goBackwards)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int features = x.Shape[2], units = r.Shape[0], g4 = 4 * units, rows = batch * steps;
        if (r.RequiresGrad && !keep.Recurrent) BuildPreviousStates<T>(hs, h0.Span<T>(), batch, steps, units, goBackwards, hPrev);
        Span<T> biasGrad = bias is not null && bias.RequiresGrad ? tape.Grad<T>(bias) : default;
        if (masks.Input is null && masks.Recurrent is null)
        {
            WeightGradientGemm.Run<T>(rows, g4, dZ, g4,
                features, x.Span<T>(), features, w.RequiresGrad ? tape.Grad<T>(w) : default,
                units, hPrev, units, r.RequiresGrad ? tape.Grad<T>(r) : default,
                biasGrad);
            return;
        }
        // the products from kept masked rows in one pass (a k block of dZ read by all gates of both), the others apart
        bool keptW = w.RequiresGrad && keep.Input, keptR = r.RequiresGrad && keep.Recurrent;
        if (keptW || keptR)
            SequenceMasks.KeptRowsWeightGrad<T>(4, rows, units, keptR ? units : 0, kept, keep.Width, dZ, g4, keptR ? tape.Grad<T>(r) : default, g4,
                keptW ? features : 0, keep.InputColumn, keptW ? tape.Grad<T>(w) : default);
        if (w.RequiresGrad && !keptW)
        {
            if (masks.Input is { } mx)
                SequenceMasks.MaskedGemmWeightGrad<T>(4, rows, units, features, x.Span<T>(), features, mx.Span<T>(), steps, dZ, g4, tape.Grad<T>(w), g4, tape.Scratch<T>(rows * features));
            else MatMulKernels.Gemm<T>(true, false, features, g4, rows, x.Span<T>(), features, dZ, g4, tape.Grad<T>(w), g4, true);
        }
        if (r.RequiresGrad && !keptR)
        {
            if (masks.Recurrent is { } mr)
                SequenceMasks.MaskedGemmWeightGrad<T>(4, rows, units, units, hPrev, units, mr.Span<T>(), steps, dZ, g4, tape.Grad<T>(r), g4, tape.Scratch<T>(rows * units));
            else MatMulKernels.Gemm<T>(true, false, units, g4, rows, hPrev, units, dZ, g4, tape.Grad<T>(r), g4, true);
        }
        if (!biasGrad.IsEmpty) AddColumnSums<T>(dZ, rows, g4, g4, biasGrad);
    }
}
