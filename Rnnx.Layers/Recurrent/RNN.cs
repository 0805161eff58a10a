namespace Rnnx.Layers;

/// <summary>
/// A recurrent layer: loops <see cref="Cell"/> over the time axis of (batch, time, features). Backpropagation
/// through time runs over the unrolled steps on the tape. Built-in cells run a fused whole-sequence kernel
/// (one op per layer) with the same values and gradients as their step-by-step composition.
/// </summary>
[Saving.SavedAs("RNN")]
public partial class RNN : Layer
{
    // Per-thread pool of step-output buffers: layers run concurrently on data-parallel shards, and an RNN may sit inside a cell.
    [ThreadStatic] private static Stack<Tensor[]>? t_outputBuffers;

    /// <summary>Creates the layer.</summary>
    /// <param name="cell">The cell.</param>
    /// <param name="returnSequences">Return all outputs (batch, time, units) instead of the last (batch, units).</param>
    /// <param name="returnState">Make <see cref="Run"/> and <see cref="CallWithState"/> report final states (as Keras's return_state).</param>
    /// <param name="goBackwards">Process the sequence from the last step to the first (outputs reversed, as Keras).</param>
    /// <param name="inputShape">Optional input shape without batch, e.g. [null, 1].</param>
    /// <param name="name">Optional name.</param>
    /// <param name="stateful">Carry each batch's final states into the next batch (Keras <c>stateful</c>); needs a fixed batch size.</param>
    /// <param name="batchSize">The fixed batch size (Keras <c>batch_input_shape[0]</c>); a stateful layer without one takes the model's first layer's.</param>
    public RNN(RecurrentCell cell, bool returnSequences = false, bool returnState = false, bool goBackwards = false,
        int?[]? inputShape = null, string? name = null, bool stateful = false, int? batchSize = null) : base(name, inputShape)
    {
        if (batchSize is <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, $"{GetType().Name}: batchSize must be positive, got {batchSize}.");
        Stateful = stateful;
        BatchSize = _declaredBatchSize = batchSize;
        Cell = Track(cell ?? throw new ArgumentNullException(nameof(cell)));
        ReturnSequences = returnSequences;
        ReturnState = returnState;
        GoBackwards = goBackwards;
    }

    /// <summary>The cell.</summary>
    public RecurrentCell Cell { get; }

    private readonly int? _declaredBatchSize;

    /// <summary>Whether every step's output is returned.</summary>
    public bool ReturnSequences { get; }

    /// <summary>Whether final states are reported.</summary>
    public bool ReturnState { get; }

    /// <summary>Whether time runs backwards.</summary>
    public bool GoBackwards { get; }

    /// <summary>Use the built-in cell's fused sequence kernel when available (default true). False runs the composed step loop.</summary>
    public bool UseFusedKernel { get; set; } = true;

    /// <inheritdoc />
    protected override void BuildCore(int?[] inputShape)
    {
        if (inputShape.Length != 2 || inputShape[1] is not int features)
            throw ShapeError($"expects input (batch, time, features) with known features, got (batch, {string.Join(", ", inputShape.Select(d => d?.ToString() ?? "None"))}).");
        Cell.CheckStepSizes(features);
        Cell.BuildInContext([features]);
        Cell.BuildChildren(features);
    }

    /// <inheritdoc />
    public override int?[] ComputeOutputShape(int?[] inputShape)
    {
        if (inputShape.Length != 2) throw ShapeError($"expects input (batch, time, features), got rank {inputShape.Length + 1}.");
        return ReturnSequences ? [inputShape[0], Cell.OutputSize] : [Cell.OutputSize];
    }

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training) => RunCore(input, default, training, default, null);

    /// <summary>
    /// Keras's RNN with a mask (keras/src/layers/rnn/rnn.py, backend <c>rnn</c>): at a masked step the states are carried
    /// unchanged and the output is the previous step's output (zeros before the first unmasked step; Keras's default
    /// <c>zero_output_for_mask=False</c>); the last output is the output at the last processed step.
    /// </summary>
    public override bool SupportsMasking => true;

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, Tensor mask, bool training) => RunCore(input, default, training, default, mask);

    /// <summary>The output keeps the time axis only with return_sequences; then the mask goes on unchanged (also with go_backwards, as Keras).</summary>
    public override Tensor? ComputeMask(Tensor input, Tensor? mask)
    {
        base.ComputeMask(input, mask);
        return ReturnSequences ? mask : null;
    }

    /// <summary>1, or 1 + the number of states with <see cref="ReturnState"/> (the output, then the final states).</summary>
    public override int OutputCount => ReturnState ? 1 + Cell.StateSizes.Count : 1;

    /// <summary>Inputs are the sequence, optionally followed by one initial state per cell state (Keras's <c>initial_state</c>).</summary>
    protected override void BuildCore(IReadOnlyList<int?[]> inputShapes)
    {
        CheckStateShapes(inputShapes);
        BuildCore(inputShapes[0]);
    }

    /// <summary>The output shape, then with <see cref="ReturnState"/> one (size,) shape per state.</summary>
    public override IReadOnlyList<int?[]> ComputeOutputShapes(IReadOnlyList<int?[]> inputShapes)
    {
        ArgumentNullException.ThrowIfNull(inputShapes);
        CheckStateShapes(inputShapes);
        var shapes = new List<int?[]> { ComputeOutputShape(inputShapes[0]) };
        if (ReturnState)
            foreach (int size in Cell.StateSizes) shapes.Add([size]);
        return shapes;
    }

    /// <summary>Runs on [sequence, initial states...] and writes [output] or, with <see cref="ReturnState"/>, [output, final states...].</summary>
    protected override void ForwardMany(ReadOnlySpan<Tensor> inputs, Span<Tensor> outputs, bool training) =>
        outputs[0] = RunCore(inputs[0], inputs[1..], training, ReturnState ? outputs[1..] : default, null);

    /// <summary>With a mask on the sequence: the masked run, with initial states and final states as without a mask.</summary>
    protected override void ForwardMany(ReadOnlySpan<Tensor> inputs, Span<Tensor> outputs, bool training, ReadOnlySpan<Tensor?> masks)
    {
        RequireSequenceMaskOnly(inputs, masks);
        outputs[0] = RunCore(inputs[0], inputs[1..], training, ReturnState ? outputs[1..] : default, masks[0]);
    }

    /// <summary>
    /// The output's mask as with one input (the sequence's mask with return_sequences, else none); the final states
    /// have none (Keras's RNN.compute_mask gives None for each state).
    /// </summary>
    public override void ComputeMasks(ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor?> masks, Span<Tensor?> outputMasks)
    {
        if (inputs.Length == 1 && OutputCount == 1 || masks.Length != inputs.Length || outputMasks.Length != OutputCount)
        {
            base.ComputeMasks(inputs, masks, outputMasks);
            return;
        }
        RequireSequenceMaskOnly(inputs, masks);
        outputMasks.Clear();
        outputMasks[0] = ComputeMask(inputs[0], masks[0]);
    }

    /// <summary>A mask belongs to the sequence (the first input); an initial state is not masked.</summary>
    internal void RequireSequenceMaskOnly(ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor?> masks)
    {
        for (int i = 1; i < masks.Length; i++)
            if (masks[i] is Tensor m)
                throw new ArgumentException($"{Name}: initial state {i - 1} {inputs[i].Shape} comes with a mask {m.Shape}; only the sequence (the first input) takes a mask.");
    }

    private void CheckStateShapes(IReadOnlyList<int?[]> inputShapes)
    {
        int ns = Cell.StateSizes.Count, given = inputShapes.Count - 1;
        string Shapes() => string.Join(", ", inputShapes.Skip(1).Select(ShapeText));
        string Expected() => string.Join(", ", Cell.StateSizes.Select(n => $"(None, {n})"));
        if (inputShapes.Count == 0) throw ShapeError("called with no inputs.");
        if (given != 0 && given != ns)
            throw ShapeError($"expects {ns} initial state(s) {Expected()}, got {given}: {Shapes()}.");
        for (int i = 0; i < given; i++)
            if (inputShapes[i + 1] is not [int size] || size != Cell.StateSizes[i])
                throw ShapeError($"initial state {i} must be (None, {Cell.StateSizes[i]}), got (None, {string.Join(", ", inputShapes[i + 1].Select(d => d?.ToString() ?? "None"))}); expected {Expected()}.");
    }

    /// <summary>Runs the layer and returns the output and the final states.</summary>
    /// <param name="input">(batch, time, features).</param>
    /// <param name="initialState">Optional initial states, one (batch, size) tensor per state; zeros when omitted.</param>
    /// <param name="training">Keras's training flag, passed to the cell; it does not decide recording (see <see cref="Layer.Call(Tensor, bool)"/>).</param>
    /// <param name="mask">Optional (batch, time) mask: masked steps are skipped, their states carried (see <see cref="SupportsMasking"/>).</param>
    public (Tensor Output, Tensor[] States) Run(Tensor input, IReadOnlyList<Tensor>? initialState = null, bool training = false, Tensor? mask = null)
    {
        if (mask is Tensor m) CheckMask(input, m);
        // Build from the shape alone: a forward pass here would also move a stateful layer's states.
        EnsureBuiltFor(input);
        var states = new Tensor[Cell.StateSizes.Count];
        Tensor[]? init = initialState?.ToArray();
        var output = RunCore(input, init, training, states, mask);
        return (output, states);
    }

    /// <summary>Keras-style call with states: returns [output, state...] (with return_state) or [output].</summary>
    public Tensor[] CallWithState(Tensor input, params Tensor[] initialState)
    {
        var (o, s) = Run(input, initialState.Length == 0 ? null : initialState);
        return ReturnState ? [o, .. s] : [o];
    }

    internal Tensor RunCore(Tensor input, ReadOnlySpan<Tensor> initialState, bool training, Span<Tensor> finalStates, Tensor? mask = null)
    {
        if (input.Rank != 3) throw ShapeError($"expects input (batch, time, features), got {input.Shape}.");
        int features = BuiltInputShape![1]!.Value;
        if (input.Shape[2] != features) throw ShapeError($"expects {features} features per step, got input {input.Shape}.");
        int batch = input.Shape[0], steps = input.Shape[1], ns = Cell.StateSizes.Count;
        int statefulOffset = Stateful ? CheckStatefulBatch(batch) : 0;
        StateBuffer stateBuffer = default, nextBuffer = default, finalBuffer = default;   // no per-call arrays for up to 4 states
        Span<Tensor> states = ns <= StateBuffer.Length ? ((Span<Tensor>)stateBuffer)[..ns] : new Tensor[ns];
        // A stateful layer always needs the final states, to carry them to the next batch.
        Span<Tensor> finals = finalStates.Length == ns || !Stateful ? finalStates
            : ns <= StateBuffer.Length ? ((Span<Tensor>)finalBuffer)[..ns] : new Tensor[ns];
        if (initialState.Length > 0)
        {
            if (initialState.Length != ns) throw ShapeError($"expected {ns} initial state tensor(s), got {initialState.Length}.");
            for (int i = 0; i < ns; i++)
            {
                var s = initialState[i];
                if (s.Rank != 2 || s.Shape[0] != batch || s.Shape[1] != Cell.StateSizes[i])
                    throw ShapeError($"initial state {i} must be ({batch}, {Cell.StateSizes[i]}), got {s.Shape}.");
                states[i] = s;
            }
        }
        else if (Stateful) LoadStates(statefulOffset, batch, states);
        else Cell.GetInitialState(batch, input.DType, states);
        var dropoutCell = training ? Cell as IDropoutCell : null;
        var masks = dropoutCell is null ? default : DropoutMasks(dropoutCell, batch, features, input.DType);

        // The fused ops take a step mask and dropout masks, alone or together; only a mask the cell's fused op cannot
        // take (peephole weights) runs the step loop.
        if (UseFusedKernel && Cell is IFusedRecurrentCell fused && fused.CanFuse && !(mask is not null && !fused.CanFuseMask))
        {
            var fusedOutput = fused.ForwardSequence(input, states, ReturnSequences, GoBackwards, finals.Length == ns ? finals : default, masks, mask);
            if (Stateful) StoreStates(statefulOffset, finals);
            return fusedOutput;
        }
        if (mask is Tensor stepMask)
        {
            var maskedOutput = RunMaskedSteps(input, stepMask, states, finals, dropoutCell, masks);
            if (Stateful) StoreStates(statefulOffset, finals);
            return maskedOutput;
        }

        Span<Tensor> next = ns <= StateBuffer.Length ? ((Span<Tensor>)nextBuffer)[..ns] : new Tensor[ns];
        var pool = t_outputBuffers ??= new Stack<Tensor[]>();
        var outputs = pool.Count > 0 ? pool.Pop() : [];
        if (outputs.Length < steps) outputs = new Tensor[Math.Max(steps, 2 * outputs.Length)];
        Tensor last = default;
        for (int k = 0; k < steps; k++)
        {
            int t = GoBackwards ? steps - 1 - k : k;
            var xt = Tensor.Select(input, 1, t);
            last = masks.Any ? dropoutCell!.Step(xt, states, next, masks) : Cell.Step(xt, states, next);
            outputs[k] = last;
            for (int i = 0; i < ns; i++) states[i] = next[i];
        }
        if (finals.Length == ns) states.CopyTo(finals);
        if (Stateful) StoreStates(statefulOffset, finals);
        var result = ReturnSequences ? Tensor.Stack(1, outputs.AsSpan(0, steps)) : last;
        Array.Clear(outputs, 0, steps);
        pool.Push(outputs);
        return result;
    }

    /// <summary>
    /// The composed step loop with a mask: s_k = m ⊙ cell(x_t, s_{k−1}) + (1 − m) ⊙ s_{k−1} for every state, and the
    /// output y_k = m ⊙ out_k + (1 − m) ⊙ y_{k−1} with y_{−1} = 0 (m = mask[:, t] as a column; exact selection for 0/1).
    /// </summary>
    private Tensor RunMaskedSteps(Tensor input, Tensor mask, Span<Tensor> states, Span<Tensor> finalStates, IDropoutCell? dropoutCell, in RecurrentDropoutMasks masks)
    {
        int batch = input.Shape[0], steps = input.Shape[1], ns = states.Length;
        var keep = Tensor.Reshape(mask, batch, steps, 1);
        var drop = 1.0 - keep;
        var next = new Tensor[ns];
        var outputs = new Tensor[steps];
        var last = Tensor.Zeros(new Shape(batch, Cell.OutputSize), input.DType);
        for (int k = 0; k < steps; k++)
        {
            int t = GoBackwards ? steps - 1 - k : k;
            Tensor m = Tensor.Select(keep, 1, t), notM = Tensor.Select(drop, 1, t);
            var xt = Tensor.Select(input, 1, t);
            var y = masks.Any ? dropoutCell!.Step(xt, states, next, masks) : Cell.Step(xt, states, next);
            for (int i = 0; i < ns; i++) states[i] = m * next[i] + notM * states[i];
            last = m * y + notM * last;
            outputs[k] = last;
        }
        if (finalStates.Length == ns) states.CopyTo(finalStates);
        return ReturnSequences ? Tensor.Stack(1, outputs) : last;
    }

    /// <summary>Inline storage for the states of a step (cells have 1 or 2).</summary>
    [System.Runtime.CompilerServices.InlineArray(Length)]
    private struct StateBuffer
    {
        public const int Length = 4;
        private Tensor _element0;
    }
}

/// <summary>
/// A built-in cell that can run a whole sequence as one fused op (forward over all steps, then backpropagation
/// through time in one backward), equal in values and gradients to looping <see cref="RecurrentCell.Step"/>.
/// </summary>
internal interface IFusedRecurrentCell
{
    /// <summary>False when a setting (e.g. a custom activation) has no fused kernel.</summary>
    bool CanFuse { get; }

    /// <summary>False when the fused op cannot also take a step mask (peephole weights); masked sequences then run the step loop.</summary>
    bool CanFuseMask => true;

    /// <summary>
    /// x (batch, time, features) with initial states → (batch, time, units) when <paramref name="returnSequences"/>,
    /// else (batch, units); writes the final states into <paramref name="finalStates"/> unless it is empty (not wanted);
    /// the sequence's dropout masks (none by default) enter the fused op.
    /// With a (batch, time) <paramref name="mask"/>, masked steps carry the states and repeat the previous output.
    /// </summary>
    Tensor ForwardSequence(Tensor x, ReadOnlySpan<Tensor> initialStates, bool returnSequences, bool goBackwards, Span<Tensor> finalStates,
        in RecurrentDropoutMasks masks = default, Tensor? mask = null);
}
