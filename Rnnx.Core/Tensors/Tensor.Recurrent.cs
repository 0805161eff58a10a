using Rnnx.Autodiff.Ops;

namespace Rnnx;

public readonly partial struct Tensor
{
    // ------------------------------------------------------------ whole-sequence recurrent ops (B batch, T time, F features, U units)

    /// <summary>
    /// A SimpleRNN over a whole sequence as one differentiable op (Keras's SimpleRNN):
    /// h_t = activation((x_t·kernel + bias) + h_{t−1}·recurrentKernel). One GEMM projects every step's input, one per
    /// step adds the recurrence; backward through time is one op. Row derivative in docs/derivatives.md.
    /// </summary>
    /// <param name="x">Input (B, T, F).</param>
    /// <param name="kernel">Input weights (F, U).</param>
    /// <param name="recurrentKernel">Recurrent weights (U, U).</param>
    /// <param name="bias">Bias (U,), or null for none.</param>
    /// <param name="h0">Initial hidden state (B, U).</param>
    /// <param name="activation">The activation (Keras's default is tanh).</param>
    /// <param name="options">Outputs wanted and direction.</param>
    /// <exception cref="ShapeMismatchException">A shape does not fit the others.</exception>
    /// <exception cref="ArgumentException">The tensors do not share one dtype, or the activation is not defined.</exception>
    public static RecurrentSequence SimpleRnnSequence(Tensor x, Tensor kernel, Tensor recurrentKernel, Tensor? bias, Tensor h0,
        CellActivation activation = CellActivation.Tanh, RecurrentSequenceOptions options = default)
    {
        const string op = nameof(SimpleRnnSequence);
        if (activation is < CellActivation.Linear or > CellActivation.Sigmoid) throw new ArgumentException($"{op}: unknown activation {(int)activation}.", nameof(activation));
        CheckSequenceArgs(op, x, kernel, recurrentKernel, bias, h0, null, gates: 1, options);
        if (options.Mask is Tensor mask)
        {
            var hm = MaskedSimpleRnnSequenceOp.Apply(x, kernel, recurrentKernel, bias, h0, mask, activation, options.GoBackwards, SequenceMasks.Of(options), out var finalH);
            return FinishMasked(hm, finalH, null, options);
        }
        var h = SimpleRnnSequenceOp.Apply(x, kernel, recurrentKernel, bias, h0, activation, options.GoBackwards, SequenceMasks.Of(options));
        return Finish(h, default, options);
    }

    /// <summary>
    /// An LSTM over a whole sequence as one differentiable op (Keras's LSTM with tanh and sigmoid):
    /// z = (x_t·kernel + h_{t−1}·recurrentKernel) + bias split into gates i, f, g, o (that order);
    /// c_t = σ(f) ⊙ c_{t−1} + σ(i) ⊙ tanh(g); h_t = σ(o) ⊙ tanh(c_t). Row derivative in docs/derivatives.md.
    /// </summary>
    /// <param name="x">Input (B, T, F).</param>
    /// <param name="kernel">Input weights (F, 4U), gates i, f, g, o.</param>
    /// <param name="recurrentKernel">Recurrent weights (U, 4U).</param>
    /// <param name="bias">Bias (4U,), or null for none.</param>
    /// <param name="h0">Initial hidden state (B, U).</param>
    /// <param name="c0">Initial cell state (B, U).</param>
    /// <param name="options">Outputs wanted and direction; with <see cref="RecurrentSequenceOptions.ReturnStates"/> both final states.</param>
    /// <param name="peepholes">
    /// Optional diagonal peephole weights (3U,) = [p_i, p_f, p_o] (tf.keras.experimental.PeepholeLSTMCell): the input and
    /// forget gates become σ(z_i + p_i ⊙ c_{t−1}), σ(z_f + p_f ⊙ c_{t−1}) and the output gate σ(z_o + p_o ⊙ c_t). Differentiable.
    /// </param>
    /// <exception cref="ShapeMismatchException">A shape does not fit the others.</exception>
    /// <exception cref="ArgumentException">The tensors do not share one dtype.</exception>
    public static RecurrentSequence LstmSequence(Tensor x, Tensor kernel, Tensor recurrentKernel, Tensor? bias, Tensor h0, Tensor c0,
        RecurrentSequenceOptions options = default, Tensor? peepholes = null)
    {
        int units = CheckSequenceArgs(nameof(LstmSequence), x, kernel, recurrentKernel, bias, h0, c0, gates: 4, options);
        if (peepholes is Tensor p)
        {
            if (p.Shape != new Shape(3 * units))
                throw new ShapeMismatchException($"{nameof(LstmSequence)}: peepholes must be ({3 * units},) = [input, forget, output] gate weights, got {p.Shape}.", nameof(peepholes));
            CheckDType(nameof(LstmSequence), x, p, nameof(peepholes));
        }
        if (options.Mask is Tensor mask)
        {
            if (peepholes is not null)
                throw new NotSupportedException($"{nameof(LstmSequence)}: a step mask together with peephole weights has no fused op; run the cell's step loop.");
            var hm = MaskedLstmSequenceOp.Apply(x, kernel, recurrentKernel, bias, h0, c0, mask, options.GoBackwards, SequenceMasks.Of(options), out var maskedH, out var maskedC);
            return FinishMasked(hm, maskedH, maskedC, options);
        }
        var h = LstmSequenceOp.Apply(x, kernel, recurrentKernel, bias, h0, c0, options.GoBackwards, options.ReturnStates, SequenceMasks.Of(options), out var finalC, peepholes);
        return Finish(h, finalC, options);
    }

    /// <summary>
    /// A GRU over a whole sequence as one differentiable op (Keras's GRU with tanh and sigmoid), gates z, r, h (that order).
    /// With <paramref name="resetAfter"/> (Keras's default): x_* = x_t·kernel + b_x, m_* = h_{t−1}·recurrentKernel + b_h,
    /// z = σ(x_z + m_z), r = σ(x_r + m_r), ĥ = tanh(x_h + r ⊙ m_h); without: ĥ = tanh(x_h + (r ⊙ h_{t−1})·R_h).
    /// h_t = z ⊙ h_{t−1} + (1 − z) ⊙ ĥ. Row derivative in docs/derivatives.md.
    /// </summary>
    /// <param name="x">Input (B, T, F).</param>
    /// <param name="kernel">Input weights (F, 3U).</param>
    /// <param name="recurrentKernel">Recurrent weights (U, 3U).</param>
    /// <param name="bias">With <paramref name="resetAfter"/>: (2, 3U), the input row then the recurrent row; without: (3U,). Null for none.</param>
    /// <param name="h0">Initial hidden state (B, U).</param>
    /// <param name="resetAfter">Apply the reset gate after the recurrent product (Keras/CuDNN default) or before it.</param>
    /// <param name="options">Outputs wanted and direction.</param>
    /// <exception cref="ShapeMismatchException">A shape does not fit the others.</exception>
    /// <exception cref="ArgumentException">The tensors do not share one dtype.</exception>
    public static RecurrentSequence GruSequence(Tensor x, Tensor kernel, Tensor recurrentKernel, Tensor? bias, Tensor h0,
        bool resetAfter = true, RecurrentSequenceOptions options = default)
    {
        const string op = nameof(GruSequence);
        int units = CheckSequenceArgs(op, x, kernel, recurrentKernel, null, h0, null, gates: 3, options);
        if (bias is Tensor b)
        {
            var expected = resetAfter ? new Shape(2, 3 * units) : new Shape(3 * units);
            if (b.Shape != expected)
                throw new ShapeMismatchException($"{op}: bias must be {expected} (reset_after = {resetAfter}), got {b.Shape}.", nameof(bias));
            CheckDType(op, x, b, nameof(bias));
        }
        if (options.Mask is Tensor mask)
        {
            var hm = MaskedGruSequenceOp.Apply(x, kernel, recurrentKernel, bias, h0, mask, resetAfter, options.GoBackwards, SequenceMasks.Of(options), out var finalH);
            return FinishMasked(hm, finalH, null, options);
        }
        var h = GruSequenceOp.Apply(x, kernel, recurrentKernel, bias, h0, resetAfter, options.GoBackwards, SequenceMasks.Of(options));
        return Finish(h, default, options);
    }

    /// <summary>The output and final hidden state from the hidden sequence (final cell state given by the op).</summary>
    private static RecurrentSequence Finish(Tensor h, Tensor finalCell, RecurrentSequenceOptions options)
    {
        var hd = h.Data;
        var output = options.ReturnSequences ? h : SequenceLastStepOp.Apply(hd, hd);
        if (!options.ReturnStates) return new RecurrentSequence(output, default, default);
        var finalHidden = options.ReturnSequences ? SequenceLastStepOp.Apply(hd, hd) : output;
        return new RecurrentSequence(output, finalHidden, finalCell);
    }

    /// <summary>
    /// The output and final states of a masked sequence: the last output is the hidden sequence's last step (carried
    /// through masked steps); the final states are the op's (B, 1, U) state buffers, read through
    /// <see cref="SequenceLastStepOp"/> so that their gradients reach the op.
    /// </summary>
    private static RecurrentSequence FinishMasked(Tensor h, TensorData finalHidden, TensorData? finalCell, RecurrentSequenceOptions options)
    {
        var hd = h.Data;
        var output = options.ReturnSequences ? h : SequenceLastStepOp.Apply(hd, hd);
        if (!options.ReturnStates) return new RecurrentSequence(output, default, default);
        return new RecurrentSequence(output, SequenceLastStepOp.Apply(finalHidden, hd), finalCell is null ? default : SequenceLastStepOp.Apply(finalCell, hd));
    }

    /// <summary>Checks the arguments every sequence op shares; returns U.</summary>
    private static int CheckSequenceArgs(string op, Tensor x, Tensor kernel, Tensor recurrentKernel, Tensor? bias, Tensor h0, Tensor? c0,
        int gates, RecurrentSequenceOptions options)
    {
        if (x.Rank != 3) throw new ShapeMismatchException($"{op}: x must be (batch, time, features), got {x.Shape}.", nameof(x));
        int batch = x.Shape[0], steps = x.Shape[1], features = x.Shape[2];
        if (recurrentKernel.Rank != 2 || recurrentKernel.Shape[1] != gates * recurrentKernel.Shape[0] || recurrentKernel.Shape[0] == 0)
            throw new ShapeMismatchException($"{op}: recurrentKernel must be (units, {(gates == 1 ? "units" : gates + "·units")}), got {recurrentKernel.Shape}.", nameof(recurrentKernel));
        int units = recurrentKernel.Shape[0], g = gates * units;
        if (kernel.Shape != new Shape(features, g))
            throw new ShapeMismatchException($"{op}: kernel must be ({features}, {g}) for x {x.Shape} and recurrentKernel {recurrentKernel.Shape}, got {kernel.Shape}.", nameof(kernel));
        if (h0.Shape != new Shape(batch, units))
            throw new ShapeMismatchException($"{op}: h0 must be ({batch}, {units}), got {h0.Shape}.", nameof(h0));
        if (c0 is Tensor c && c.Shape != new Shape(batch, units))
            throw new ShapeMismatchException($"{op}: c0 must be ({batch}, {units}), got {c.Shape}.", nameof(c0));
        if (bias is Tensor b && b.Shape != new Shape(g))
            throw new ShapeMismatchException($"{op}: bias must be ({g},), got {b.Shape}.", nameof(bias));
        if (options.Mask is Tensor m && (m.Rank != 2 || m.Shape[0] != batch || m.Shape[1] != steps))
            throw new ShapeMismatchException($"{op}: mask must be (batch, time) = ({batch}, {steps}) for x {x.Shape}, got {m.Shape}.", "options");
        if (options.Mask is Tensor m1) CheckDType(op, x, m1, "mask");
        if (steps == 0 && (!options.ReturnSequences || options.ReturnStates))
            throw new ShapeMismatchException($"{op}: x {x.Shape} has no time steps, so there is no last output or final state.", nameof(x));
        CheckMasks(op, x, options.InputMasks, new Shape(batch, gates, features), nameof(options.InputMasks));
        CheckMasks(op, x, options.RecurrentMasks, new Shape(batch, gates, units), nameof(options.RecurrentMasks));
        CheckDType(op, x, kernel, nameof(kernel));
        CheckDType(op, x, recurrentKernel, nameof(recurrentKernel));
        CheckDType(op, x, h0, nameof(h0));
        if (c0 is Tensor c1) CheckDType(op, x, c1, nameof(c0));
        if (bias is Tensor b1) CheckDType(op, x, b1, nameof(bias));
        return units;
    }

    private static void CheckMasks(string op, Tensor x, Tensor? masks, Shape expected, string name)
    {
        if (masks is not Tensor m) return;
        if (m.Shape != expected)
            throw new ShapeMismatchException($"{op}: {name} must be (batch, gates, size) = {expected} for x {x.Shape}, got {m.Shape}.", "options");
        CheckDType(op, x, m, name);
    }

    private static void CheckDType(string op, Tensor x, Tensor other, string name)
    {
        if (other.DType != x.DType)
            throw new ArgumentException($"{op}: x is {x.DType} but {name} is {other.DType}; all inputs must share one dtype.", name);
    }
}
