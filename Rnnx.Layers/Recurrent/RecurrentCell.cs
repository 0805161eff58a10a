namespace Rnnx.Layers;

/// <summary>
/// One step of a recurrent layer, the unit that <see cref="RNN"/> loops over time. Implement <see cref="Step"/>
/// from tensor operations (the tape differentiates through the unrolled loop); declare the state sizes.
/// Sub-layers created in the constructor and registered with <c>Track</c> build themselves on first use.
/// </summary>
/// <example>
/// The chapter's layer-normalized cell, in user code:
/// <code>
/// public sealed class LNSimpleRNNCell : RecurrentCell
/// {
///     private readonly SimpleRNNCell _cell;
///     private readonly LayerNormalization _layerNorm;
///     private readonly Activation _activation;
///
///     public LNSimpleRNNCell(int units, Activation? activation = null) : base(stateSizes: [units], outputSize: units)
///     {
///         _cell = Track(new SimpleRNNCell(units, activation: Activation.Linear));
///         _layerNorm = Track(new LayerNormalization());
///         _activation = activation ?? Activation.Tanh;
///     }
///
///     public override Tensor Step(Tensor input, ReadOnlySpan&lt;Tensor&gt; states, Span&lt;Tensor&gt; newStates)
///     {
///         var outputs = _cell.Call(input, states, newStates);
///         var normOutputs = _activation.Apply(_layerNorm.Call(outputs));
///         newStates[0] = normOutputs;
///         return normOutputs;
///     }
/// }
/// </code>
/// </example>
public abstract class RecurrentCell : Layer
{
    private readonly int[] _stateSizes;

    /// <summary>Creates a cell.</summary>
    /// <param name="stateSizes">Size of each state tensor (Keras <c>state_size</c>), e.g. [units] or [units, units] for LSTM.</param>
    /// <param name="outputSize">Size of the per-step output (Keras <c>output_size</c>).</param>
    /// <param name="name">Optional name.</param>
    protected RecurrentCell(int[] stateSizes, int outputSize, string? name = null) : base(name)
    {
        ArgumentNullException.ThrowIfNull(stateSizes);
        if (stateSizes.Length == 0 || stateSizes.Any(s => s <= 0))
            throw new ArgumentException("A recurrent cell needs at least one state, each of positive size.", nameof(stateSizes));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outputSize);
        _stateSizes = (int[])stateSizes.Clone();
        OutputSize = outputSize;
    }

    /// <summary>Size of each state tensor.</summary>
    public IReadOnlyList<int> StateSizes => _stateSizes;

    /// <summary>Size of the per-step output.</summary>
    public int OutputSize { get; }

    /// <summary>
    /// One time step: <paramref name="input"/> (batch, features) and <paramref name="states"/> (each (batch, size))
    /// give the step's output (batch, <see cref="OutputSize"/>); write the new states into <paramref name="newStates"/>.
    /// </summary>
    public abstract Tensor Step(Tensor input, ReadOnlySpan<Tensor> states, Span<Tensor> newStates);

    /// <summary>Runs one step, building the cell from the input's shape first if needed.</summary>
    /// <exception cref="ArgumentException">Wrong number of states or state shapes.</exception>
    public Tensor Call(Tensor input, ReadOnlySpan<Tensor> states, Span<Tensor> newStates)
    {
        if (states.Length != _stateSizes.Length || newStates.Length != _stateSizes.Length)
            throw new ArgumentException($"{Name}: expected {_stateSizes.Length} state tensor(s), got {states.Length} (and {newStates.Length} outputs).");
        if (input.Rank != 2) throw ShapeError($"a cell step takes (batch, features), got {input.Shape}.");
        for (int i = 0; i < states.Length; i++)
            if (states[i].Rank != 2 || states[i].Shape[0] != input.Shape[0] || states[i].Shape[1] != _stateSizes[i])
                throw ShapeError($"state {i} must be ({input.Shape[0]}, {_stateSizes[i]}), got {states[i].Shape}.");
        EnsureBuilt(input);
        return Step(input, states, newStates);
    }

    private void EnsureBuilt(Tensor input)
    {
        if (IsBuilt) return;
        using var scope = BuildContext.Enter(input.DType, BuildContext.CurrentOrNull?.Rng ?? new Random.NumPyRandomState(0));
        BuildInContext([input.Shape[1]]);
    }

    /// <summary>The initial states (zeros) for a batch; override for another start.</summary>
    public virtual void GetInitialState(int batchSize, DType dtype, Span<Tensor> states)
    {
        for (int i = 0; i < states.Length; i++) states[i] = Tensor.Zeros(new Shape(batchSize, _stateSizes[i]), dtype);
    }

    /// <inheritdoc />
    public override int?[] ComputeOutputShape(int?[] inputShape) => [OutputSize];

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training)
    {
        Span<Tensor> s = new Tensor[_stateSizes.Length], n = new Tensor[_stateSizes.Length];
        GetInitialState(input.Shape[0], input.DType, s);
        return Step(input, s, n);
    }

    /// <summary>
    /// Makes sure sub-layers that build lazily exist: runs one step on zeros (batch 1) without recording when any
    /// tracked sub-layer is not built yet. Called by <see cref="RNN"/> while building.
    /// </summary>
    internal void BuildChildren(int features)
    {
        if (Children.All(c => c.IsBuilt)) return;
        if (BuildContext.Current.Budget is { } budget)
        {
            long probe = features;
            foreach (int size in _stateSizes) probe += size;
            budget.CheckTemporary(Name, "a probe step's input and states", probe);
        }
        var dtype = BuildContext.Current.DType;
        var x = Tensor.Zeros(new Shape(1, features), dtype);
        Span<Tensor> s = new Tensor[_stateSizes.Length], n = new Tensor[_stateSizes.Length];
        GetInitialState(1, dtype, s);
        Step(x, s, n);
    }

    /// <summary>The ONNX recurrent operator this cell maps onto, or null (custom cells) when it has none.</summary>
    internal virtual Onnx.OnnxRecurrentOperator? OnnxOperator => null;
}
