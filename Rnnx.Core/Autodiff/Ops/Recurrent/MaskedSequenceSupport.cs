using System.Numerics;
using System.Runtime.InteropServices;
using Rnnx.Kernels;
using static Rnnx.Kernels.PackedStepKernels;

namespace Rnnx.Autodiff.Ops;

/// <summary>
/// The packed order of a (batch, time) step mask (<see cref="PackedStepKernels.Plan"/>): processing step k's active
/// batch rows are <see cref="Rows"/>[Offsets[k] .. Offsets[k + 1]), and packed row p is the p-th active (row, step)
/// pair, <see cref="Count"/> in all.
/// </summary>
internal readonly ref struct StepPlan
{
    public readonly ReadOnlySpan<int> Rows;
    public readonly ReadOnlySpan<int> Offsets;
    public readonly int Count;
    public readonly bool GoBackwards;

    private StepPlan(ReadOnlySpan<int> rows, ReadOnlySpan<int> offsets, int count, bool goBackwards)
    {
        Rows = rows;
        Offsets = offsets;
        Count = count;
        GoBackwards = goBackwards;
    }

    /// <summary>The integers a plan of <paramref name="batch"/> × <paramref name="steps"/> needs.</summary>
    public static int Length(int batch, int steps) => batch * steps + steps + 1;

    /// <summary>The plan of a (batch, steps) mask, built in <paramref name="space"/> (<see cref="Length"/> integers).</summary>
    public static StepPlan Of<T>(ReadOnlySpan<T> mask, int batch, int steps, bool goBackwards, Span<int> space)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Span<int> rows = space[..(batch * steps)], offsets = space.Slice(batch * steps, steps + 1);
        int n = Plan(mask, batch, steps, goBackwards, rows, offsets);
        return new StepPlan(rows, offsets, n, goBackwards);
    }

    /// <summary>Step k's active batch rows; <paramref name="p0"/> is the packed row of the first.</summary>
    public ReadOnlySpan<int> Active(int k, out int p0)
    {
        p0 = Offsets[k];
        return Rows[p0..Offsets[k + 1]];
    }
}

/// <summary>
/// The input x (B, T, F), kernel W (F, g), recurrent kernel R (U, g), bias (or null) and per-sequence dropout masks of a
/// masked sequence op.
/// </summary>
internal readonly record struct MaskedInputs(TensorData X, TensorData Kernel, TensorData RecurrentKernel, TensorData? Bias, SequenceMasks Masks);

/// <summary>
/// Tape plumbing and gradient steps every masked (packed) sequence op shares: an op records x, W, R, its own list of
/// extra tensors (initial states, mask, saved packed buffers, final states) and the bias; forward projects the active
/// inputs with one GEMM and walks the steps with <see cref="PackedForward{T}"/>; backward walks them in reverse with
/// <see cref="PackedBackward{T}"/> and ends with <see cref="InputGradients"/>.
/// </summary>
internal static class MaskedSequenceSupport
{
    /// <summary>
    /// Records a masked sequence op producing <paramref name="hidden"/>: x, W and R in the entry's A, B and C, then
    /// <paramref name="extras"/> in the op's order, the dropout masks present and the bias last, when present (read back
    /// with <see cref="Read"/>; the op keeps which masks are present in its arguments).
    /// </summary>
    public static void Record<TArgs>(Tape tape, Op op, TensorData hidden, in MaskedInputs inputs, in TArgs args, params ReadOnlySpan<TensorData> extras)
        where TArgs : unmanaged
    {
        ref var e = ref tape.Record(op, hidden);
        e.A = inputs.X;
        e.B = inputs.Kernel;
        e.C = inputs.RecurrentKernel;
        e.ExtraStart = tape.ExtraInputs.Count;
        foreach (var t in extras) tape.ExtraInputs.Add(t);
        int masks = inputs.Masks.AppendTo(tape);
        if (inputs.Bias is not null) tape.ExtraInputs.Add(inputs.Bias);
        e.ExtraCount = extras.Length + masks + (inputs.Bias is null ? 0 : 1);
        e.SetArgs(args);
    }

    /// <summary>
    /// The inputs <see cref="Record"/> stored (with the input and recurrent dropout masks when <paramref name="inputMasks"/>,
    /// <paramref name="recurrentMasks"/>), and its <paramref name="count"/> extra tensors in <paramref name="extras"/>.
    /// </summary>
    public static MaskedInputs Read(Tape tape, in TapeEntry e, int count, bool inputMasks, bool recurrentMasks, out ReadOnlySpan<TensorData> extras)
    {
        extras = CollectionsMarshal.AsSpan(tape.ExtraInputs).Slice(e.ExtraStart, count);
        var masks = SequenceMasks.Read(tape, e.ExtraStart + count, inputMasks, recurrentMasks);
        int before = count + (inputMasks ? 1 : 0) + (recurrentMasks ? 1 : 0);
        var bias = e.ExtraCount > before ? tape.ExtraInputs[e.ExtraStart + before] : null;
        return new MaskedInputs(e.A!, e.B!, e.C!, bias, masks);
    }

    /// <summary>
    /// Elements <see cref="ProjectInputs"/> needs in its scratch for per-gate input masks (B, gates, F) on
    /// <paramref name="n"/> packed rows: the masks in packed order, W by gate blocks and one masked copy of the inputs.
    /// </summary>
    public static int InputMaskScratchLength<T>(in SequenceMasks masks, int n, int gates, int features, int units)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => masks.Input is null ? 0
            : checked(n * gates * features + SequenceMasks.PackedGatesLength<T>(gates, features, units, false) + SequenceMasks.GemmScratchLength<T>(gates, n, units, features));

    /// <summary>
    /// Per-sequence dropout masks (B, G, D) in packed order (<paramref name="dst"/>, n × G·D): packed row p gets the
    /// masks of its batch row, so the per-gate products run on packed rows with one mask row per row.
    /// </summary>
    public static Span<T> PackedMaskRows<T>(in StepPlan plan, TensorData masks, Span<T> dst) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int width = masks.Shape[1] * masks.Shape[2];
        var packed = dst[..(plan.Count * width)];
        Gather<T>(masks.Span<T>(), width, plan.Rows[..plan.Count], width, packed);
        return packed;
    }

    /// <summary>
    /// The input projection of the active pairs: gathers their inputs in packed order into <paramref name="xp"/> (N × F)
    /// and sets a (N × g) = X_p·W, plus <paramref name="bias"/> (g) on every row unless it is empty.
    /// </summary>
    /// With per-gate input masks (B, G, F) gate block g is (X_p ⊙ m_g)·W_g (<see cref="SequenceMasks.MaskedGemm"/>, the
    /// masks' rows in packed order), <paramref name="maskScratch"/> of <see cref="InputMaskScratchLength"/>.
    public static void ProjectInputs<T>(in StepPlan plan, TensorData x, TensorData w, int g, ReadOnlySpan<T> bias, Span<T> xp, Span<T> a,
        TensorData? inputMasks = null, Span<T> maskScratch = default)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int steps = x.Shape[1], features = x.Shape[2], n = plan.Count;
        GatherSteps<T>(x.Span<T>(), steps, features, plan.Rows, plan.Offsets, plan.GoBackwards, xp);
        if (n == 0) return;
        if (inputMasks is not null)
        {
            int gates = inputMasks.Shape[1], units = g / gates, packedLength = SequenceMasks.PackedGatesLength<T>(gates, features, units, false);
            var packedMasks = PackedMaskRows<T>(plan, inputMasks, maskScratch);
            var packedW = maskScratch.Slice(packedMasks.Length, packedLength);
            SequenceMasks.PackGates<T>(gates, features, units, w.Span<T>(), g, false, packedW);
            SequenceMasks.MaskedGemm<T>(gates, n, units, features, xp, features, packedMasks, 1, packedW, a, g, false,
                maskScratch[(packedMasks.Length + packedLength)..]);
        }
        else MatMulKernels.Gemm<T>(false, false, n, g, features, xp, features, w.Span<T>(), g, a, g, false);
        if (!bias.IsEmpty) RecurrentKernels.AddBiasRows<T>(a, n, g, g, bias);
    }

    /// <summary>
    /// The gradient of a final state (B, 1, U) buffer, when used downstream (through <see cref="SequenceLastStepOp"/>),
    /// copied into <paramref name="dst"/> as the starting state gradient; zeros otherwise.
    /// </summary>
    public static void StartStateGradient<T>(Tape tape, TensorData finalState, Span<T> dst) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (tape.HasGrad(finalState)) tape.GradOf<T>(finalState).CopyTo(dst);
        else dst.Clear();
    }

    /// <summary>
    /// The input-side gradients from the packed pre-activation gradient dZ (n × g): gW += X_pᵀ·dZ (the packed inputs
    /// gathered again) and gx[b, t] += (dZ·Wᵀ) rows, masked steps getting nothing.
    /// </summary>
    /// With per-gate input masks (B, G, F) both go through the masks (<see cref="SequenceMasks.MaskedGemmWeightGrad"/>,
    /// <see cref="SequenceMasks.MaskedGemmInputGrad"/>, the masks' rows in packed order).
    public static void InputGradients<T>(Tape tape, TensorData x, TensorData w, ReadOnlySpan<T> dZ, int g, in StepPlan plan, TensorData? inputMasks = null)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int steps = x.Shape[1], features = x.Shape[2], n = plan.Count;
        if (n == 0 || !(w.RequiresGrad || x.RequiresGrad)) return;
        var packed = tape.Scratch<T>(n * features);
        int gates = inputMasks?.Shape[1] ?? 1, units = g / gates;
        var packedMasks = inputMasks is null ? default : PackedMaskRows<T>(plan, inputMasks, tape.Scratch<T>(n * gates * features));
        var maskedRows = inputMasks is null ? default
            : tape.Scratch<T>(Math.Max(n * features, SequenceMasks.InputGradScratchLength<T>(gates, n, units, features)));
        if (w.RequiresGrad)
        {
            GatherSteps<T>(x.Span<T>(), steps, features, plan.Rows, plan.Offsets, plan.GoBackwards, packed);
            if (inputMasks is null) MatMulKernels.Gemm<T>(true, false, features, g, n, packed, features, dZ, g, tape.Grad<T>(w), g, true);
            else SequenceMasks.MaskedGemmWeightGrad<T>(gates, n, units, features, packed, features, packedMasks, 1, dZ, g, tape.Grad<T>(w), g, maskedRows);
        }
        if (x.RequiresGrad)
        {
            if (inputMasks is null) MatMulKernels.Gemm<T>(false, true, n, features, g, dZ, g, w.Span<T>(), g, packed, features, false);
            else
            {
                var packedWt = tape.Scratch<T>(SequenceMasks.PackedGatesLength<T>(gates, features, units, true));
                SequenceMasks.PackGates<T>(gates, features, units, w.Span<T>(), g, true, packedWt);
                packed[..(n * features)].Clear();
                SequenceMasks.MaskedGemmInputGrad<T>(gates, n, units, features, dZ, g, packedWt, packedMasks, 1, packed, features, maskedRows);
            }
            ScatterAddSteps<T>(packed, steps, features, plan.Rows, plan.Offsets, plan.GoBackwards, tape.Grad<T>(x));
        }
    }
}

/// <summary>
/// The forward walk of a masked op over its plan: the hidden state of every batch row is carried in the final state
/// buffer (starting as h0), gathered into packed rows at <see cref="Begin"/> and scattered back at <see cref="End"/>,
/// which also writes the step's output (Keras: a masked row repeats its previous output).
/// </summary>
internal readonly ref struct PackedForward<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly StepPlan _plan;
    private readonly Span<T> _state;
    private readonly Span<T> _output;
    private readonly int _batch, _steps, _units;

    /// <summary>Starts at h0 (B, U); carries the state in <paramref name="finalH"/> and writes H (B, T, U) into <paramref name="h"/>.</summary>
    public PackedForward(in StepPlan plan, TensorData h0, TensorData finalH, TensorData h)
    {
        _plan = plan;
        _state = finalH.Span<T>();
        _output = h.Span<T>();
        _batch = h.Shape[0];
        _steps = h.Shape[1];
        _units = h.Shape[2];
        h0.Span<T>().CopyTo(_state);
    }

    /// <summary>Step k's active rows, from packed row <paramref name="p0"/>, their entering states gathered into hPrev[p0·U ..].</summary>
    public ReadOnlySpan<int> Begin(int k, out int p0, Span<T> hPrev)
    {
        var active = _plan.Active(k, out p0);
        Gather<T>(_state, _units, active, _units, hPrev[(p0 * _units)..]);
        return active;
    }

    /// <summary>Ends step k: the new states hNew[p0·U ..] become the active rows' carried states and step k's outputs.</summary>
    public void End(int k, ReadOnlySpan<int> active, int p0, ReadOnlySpan<T> hNew)
    {
        var hk = hNew[(p0 * _units)..];
        Scatter<T>(hk, active, _units, _state, _units);
        WriteStepOutputs<T>(hk, active, _batch, _steps, _units, k, _output);
    }
}

/// <summary>
/// The backward walk of a masked op, steps in reverse: <see cref="Begin"/> takes step k's output gradients into
/// <see cref="Out"/> (a masked row's output gradient carries to the step whose output it repeats) and gathers the
/// active rows' state gradients into <see cref="Dh"/>; the op turns them into its pre-activation gradients and the
/// entering state gradient (in <see cref="Dh"/>), which <see cref="End"/> scatters back. The state gradient starts
/// from the final state's gradient and ends as the gradient of h0 (<see cref="AccumulateInitial"/>).
/// </summary>
internal readonly ref struct PackedBackward<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>The plan of the op's mask.</summary>
    public readonly StepPlan Plan;

    /// <summary>The output gradient of the current step's active rows (packed).</summary>
    public readonly Span<T> Out;

    /// <summary>The state gradient of the current step's active rows (packed).</summary>
    public readonly Span<T> Dh;

    /// <summary>
    /// Rᵀ (g × U), R being the op's recurrent kernel (U × g), packed for <see cref="PackedGemm"/>; with a split, only its
    /// rows [0, split) (the rest in <see cref="RecurrentTransposedTail"/>).
    /// </summary>
    public readonly ReadOnlySpan<T> RecurrentTransposed;

    /// <summary>Rows [split, g) of Rᵀ, packed, when the walk was made with a split; empty otherwise.</summary>
    public readonly ReadOnlySpan<T> RecurrentTransposedTail;

    private readonly Span<T> _state;
    private readonly Span<T> _carry;
    private readonly ReadOnlySpan<T> _dH;
    private readonly int _batch, _steps, _units;

    /// <summary>
    /// The walk of the op recorded as <paramref name="e"/>; <paramref name="split"/>: see <see cref="RecurrentOpSupport.PackRecurrent"/>.
    /// With <paramref name="gateBlocks"/> (recurrent dropout) Rᵀ is packed by gate blocks R_gᵀ
    /// (<see cref="SequenceMasks.PackGatesAndLast"/>), the tail being the last gate's R_gᵀ packed apart.
    /// </summary>
    public PackedBackward(Tape tape, in TapeEntry e, TensorData mask, TensorData finalH, bool goBackwards, int split = 0, bool gateBlocks = false)
    {
        TensorData h = e.Out, r = e.C!;
        _batch = h.Shape[0];
        _steps = h.Shape[1];
        _units = h.Shape[2];
        int bu = _batch * _units, g = r.Shape[1];
        Plan = StepPlan.Of<T>(mask.Span<T>(), _batch, _steps, goBackwards, tape.Scratch<int>(StepPlan.Length(_batch, _steps)));
        _dH = tape.GradOf<T>(h);
        _carry = tape.Scratch<T>(bu);
        _carry.Clear();
        _state = tape.Scratch<T>(bu);
        MaskedSequenceSupport.StartStateGradient<T>(tape, finalH, _state);
        Out = tape.Scratch<T>(bu);
        Dh = tape.Scratch<T>(bu);
        if (gateBlocks)
        {
            int gates = g / _units;
            var blocks = tape.Scratch<T>(SequenceMasks.PackedGatesAndLastLength<T>(gates, _units, true));
            var last = SequenceMasks.PackGatesAndLast<T>(gates, _units, r.Span<T>(), true, blocks);
            RecurrentTransposed = blocks;
            RecurrentTransposedTail = split == 0 ? default : last;
            return;
        }
        var space = tape.Scratch<T>(RecurrentOpSupport.PackedRecurrentLength<T>(_units, g, split, true));
        RecurrentTransposed = RecurrentOpSupport.PackRecurrent<T>(r.Span<T>(), _units, g, split, true, space, out var tail);
        RecurrentTransposedTail = tail;
    }

    /// <summary>Step k's active rows, from packed row <paramref name="p0"/>, with <see cref="Out"/> and <see cref="Dh"/> filled.</summary>
    public ReadOnlySpan<int> Begin(int k, out int p0)
    {
        var active = Plan.Active(k, out p0);
        TakeStepOutputGradients<T>(_dH, active, _batch, _steps, _units, k, _carry, Out);
        Gather<T>(_state, _units, active, _units, Dh);
        return active;
    }

    /// <summary>Ends a step: <see cref="Dh"/> (now the entering state gradient) goes back to the active rows.</summary>
    public void End(ReadOnlySpan<int> active) => Scatter<T>(Dh, active, _units, _state, _units);

    /// <summary>After the walk: adds the state gradient left at the start into h0's gradient.</summary>
    public void AccumulateInitial(Tape tape, TensorData h0) => RecurrentOpSupport.AccumulateInto<T>(tape, h0, _state);
}
