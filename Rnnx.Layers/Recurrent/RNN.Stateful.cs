namespace Rnnx.Layers;

/// <summary>
/// Keras's <c>stateful=True</c>: the final states of one batch are the initial states of the next, row for row
/// (sample i of a batch continues sample i of the previous batch). The states are values, not tape tensors: no
/// gradient flows from one batch into the previous one (Keras's truncated backpropagation). They have a fixed batch
/// size (Keras's <c>batch_input_shape[0]</c>), declared on the layer or on the model's first layer.
/// </summary>
public partial class RNN
{
    // One array (float[] or double[], BatchSize × state size) per state; null until first used or reset.
    private Array[]? _stateValues;

    /// <summary>Whether the final states of a batch carry over to the next (Keras <c>stateful</c>).</summary>
    public bool Stateful { get; }

    /// <summary>The fixed batch size of a stateful layer (declared, or taken from the model's first layer when built), else null.</summary>
    public int? BatchSize { get; private set; }

    /// <summary>Takes the model's declared batch size when the layer declares none (called while a model builds).</summary>
    internal void UseModelBatchSize(int? batchSize) => BatchSize ??= batchSize;

    /// <summary>
    /// Sets the carried states to zeros (Keras <c>reset_states()</c>), e.g. between independent sequences or at each
    /// epoch's start. Inside a model, call the model's <c>ResetStates</c>, which refuses while another call uses the model.
    /// </summary>
    /// <exception cref="InvalidOperationException">The layer is not stateful.</exception>
    public void ResetStates()
    {
        if (!Stateful) throw new InvalidOperationException($"{Name}: ResetStates needs a stateful layer (stateful: true).");
        if (_stateValues is null) return;
        foreach (var a in _stateValues) Array.Clear(a);
    }

    /// <summary>Copies of the carried states, one (BatchSize, size) tensor per state (zeros before the first batch).</summary>
    /// <exception cref="InvalidOperationException">The layer is not stateful, or is not built.</exception>
    public Tensor[] GetStates()
    {
        if (!Stateful) throw new InvalidOperationException($"{Name}: only a stateful layer (stateful: true) carries states.");
        if (!IsBuilt) throw new InvalidOperationException($"{Name}: the layer is not built yet, so it has no states.");
        var values = StateValues();
        var result = new Tensor[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            var shape = new Shape(BatchSize!.Value, Cell.StateSizes[i]);
            result[i] = values[i] is float[] f ? Tensor.FromSpan<float>(f, shape) : Tensor.FromSpan<double>((double[])values[i], shape);
        }
        return result;
    }

    /// <summary>
    /// Sets the carried states (Keras <c>reset_states(states)</c>), one (BatchSize, size) tensor per state in the layer's dtype.
    /// Nothing changes if any is wrong.
    /// </summary>
    /// <exception cref="InvalidOperationException">The layer is not stateful, or is not built.</exception>
    /// <exception cref="ArgumentException">Wrong count, shape or dtype, naming the state.</exception>
    public void SetStates(params Tensor[] states)
    {
        ArgumentNullException.ThrowIfNull(states);
        if (!Stateful) throw new InvalidOperationException($"{Name}: only a stateful layer (stateful: true) carries states.");
        if (!IsBuilt) throw new InvalidOperationException($"{Name}: build the layer (or call it once) before setting its states.");
        var values = StateValues();
        int ns = Cell.StateSizes.Count;
        if (states.Length != ns) throw new ArgumentException($"{Name}: expected {ns} state tensor(s), got {states.Length}.", nameof(states));
        for (int i = 0; i < ns; i++)
        {
            var expected = new Shape(BatchSize!.Value, Cell.StateSizes[i]);
            if (states[i].Shape != expected) throw ShapeError($"state {i} must be {expected}, got {states[i].Shape}.");
            if (states[i].DType != DType) throw new ArgumentException($"{Name}: state {i} is {states[i].DType}, the layer is {DType}.", nameof(states));
        }
        for (int i = 0; i < ns; i++)
        {
            if (values[i] is float[] f) states[i].AsSpan<float>().CopyTo(f);
            else states[i].AsSpan<double>().CopyTo((double[])values[i]);
        }
    }

    private Array[] StateValues()
    {
        if (Volatile.Read(ref _stateValues) is { } existing) return existing;
        int batch = BatchSize ?? throw NoBatchSize();
        var values = new Array[Cell.StateSizes.Count];
        for (int i = 0; i < values.Length; i++)
            values[i] = DType == DType.Float32 ? new float[batch * Cell.StateSizes[i]] : new double[batch * Cell.StateSizes[i]];
        // The shards of a model's first batch arrive here at once, each for its own rows: one array must win for all
        // of them, or a shard's final states would go to an array the layer then drops.
        return Interlocked.CompareExchange(ref _stateValues, values, null) ?? values;
    }

    private InvalidOperationException NoBatchSize() => new(
        $"{Name}: a stateful layer needs a fixed batch size: pass batchSize on the layer or on the model's first layer (Keras batch_input_shape).");

    /// <summary>Refuses a batch whose size is not the declared one, before anything runs; returns this call's first row.</summary>
    private int CheckStatefulBatch(int rows)
    {
        if (BatchSize is not int declared) throw NoBatchSize();
        var (offset, batch) = StatefulBatch.Of(rows);
        if (batch != declared)
            throw ShapeError($"is stateful with batch size {declared} (its states are ({declared}, units)) but got a batch of {batch} samples; " +
                $"feed batches of exactly {declared} (the number of samples must be a multiple of it).");
        return offset;
    }

    /// <summary>The carried states of rows [offset, offset + rows) as new tensors (copies on the active tape: the values change after the call).</summary>
    private void LoadStates(int offset, int rows, Span<Tensor> states)
    {
        var values = StateValues();
        for (int i = 0; i < states.Length; i++)
        {
            int size = Cell.StateSizes[i];
            var shape = new Shape(rows, size);
            if (values[i] is float[] f)
            {
                states[i] = Tensor.CreateForWriting<float>(shape, out var dst);
                f.AsSpan(offset * size, rows * size).CopyTo(dst);
            }
            else
            {
                states[i] = Tensor.CreateForWriting<double>(shape, out var dst);
                ((double[])values[i]).AsSpan(offset * size, rows * size).CopyTo(dst);
            }
        }
    }

    /// <summary>Keeps the final states' values of rows [offset, offset + rows) for the next batch (detached from the tape).</summary>
    private void StoreStates(int offset, ReadOnlySpan<Tensor> finalStates)
    {
        var values = StateValues();
        for (int i = 0; i < finalStates.Length; i++)
        {
            int size = Cell.StateSizes[i];
            if (values[i] is float[] f) finalStates[i].AsSpan<float>().CopyTo(f.AsSpan(offset * size));
            else finalStates[i].AsSpan<double>().CopyTo(((double[])values[i]).AsSpan(offset * size));
        }
    }
}
