using Rnnx.Layers;

namespace Rnnx.Models;

/// <summary>Stateful recurrent layers in a model: the fixed batch size, the data checks and resetting the states.</summary>
public partial class Model
{
    private int _statefulCallBusy;

    /// <summary>The batch size the first layer fixes (an <see cref="InputLayer"/>'s or a recurrent layer's batchSize), or null.</summary>
    public int? BatchSize => _layers.Count == 0 ? null : _layers[0] switch
    {
        InputLayer input => input.BatchSize,
        RNN rnn => rnn.BatchSize,
        _ => null,
    };

    // Found once when the model builds (the layers cannot change after that), so that a call does not search them.
    private RNN[]? _statefulLayers;

    /// <summary>The stateful recurrent layers, nested ones included.</summary>
    internal IReadOnlyList<RNN> StatefulLayers => _statefulLayers ?? FindStatefulLayers();

    private RNN[] FindStatefulLayers() => _layers.SelectMany(Descendants).OfType<RNN>().Where(r => r.Stateful).ToArray();

    private static IEnumerable<Layer> Descendants(Layer layer) => layer.Children.SelectMany(Descendants).Prepend(layer);

    /// <summary>
    /// Sets the states of every stateful layer to zeros (Keras <c>model.reset_states()</c>), e.g. before feeding a new
    /// series, or from a callback at each epoch's start. A model without stateful layers is left as it is.
    /// </summary>
    /// <exception cref="InvalidOperationException">A prediction, evaluation or training runs on another thread.</exception>
    public void ResetStates()
    {
        using var mutation = _access.Mutate(nameof(ResetStates), reentrant: true);
        foreach (var layer in StatefulLayers) layer.ResetStates();
    }

    /// <summary>Gives stateful layers without a batch size the model's (while building).</summary>
    private void UseModelBatchSize()
    {
        _statefulLayers = FindStatefulLayers();
        foreach (var layer in _statefulLayers) layer.UseModelBatchSize(BatchSize);
    }

    /// <summary>
    /// Refuses, before anything runs, data that a stateful model cannot take as Keras does: shuffled samples (a row's
    /// state must continue the same row of the previous batch), or batches that are not all of the layers' fixed size.
    /// </summary>
    private void CheckStatefulData(string operation, int samples, int batchSize, bool shuffle = false)
    {
        foreach (var layer in StatefulLayers)
        {
            int fixedSize = layer.BatchSize ?? throw new InvalidOperationException(
                $"{Name}: layer {layer.Name} is stateful and needs a fixed batch size: pass batchSize on it or on the model's first layer (Keras batch_input_shape).");
            if (shuffle)
                throw new ArgumentException($"{Name}: {operation} with shuffle: true on a model with the stateful layer {layer.Name}; pass shuffle: false " +
                    "(each sample continues the state of the same row of the previous batch).", nameof(shuffle));
            if (batchSize != fixedSize)
                throw new ArgumentException($"{Name}: {operation} uses batches of {batchSize} but the stateful layer {layer.Name} has batch size {fixedSize}; pass batchSize: {fixedSize}.", nameof(batchSize));
            if (samples % fixedSize != 0)
                throw new ArgumentException($"{Name}: {operation} got {samples} samples, not a multiple of the stateful layer {layer.Name}'s batch size {fixedSize} " +
                    $"(the last batch would have {samples % fixedSize}); trim or pad the data to a multiple of {fixedSize}.", nameof(samples));
        }
    }

    /// <summary>
    /// Claims the states for a Predict, Evaluate, Call, CallMany or PredictMany on a stateful model (they update the
    /// states, so two at once would race); does nothing for a model without stateful layers, whose calls run concurrently.
    /// </summary>
    private StatefulCallScope EnterStatefulCall(string operation)
    {
        if (StatefulLayers.Count == 0) return default;
        if (Interlocked.CompareExchange(ref _statefulCallBusy, 1, 0) != 0)
            throw new InvalidOperationException($"{Name}: {operation} cannot run while another Predict, Evaluate, Call, CallMany or PredictMany runs on this model: its stateful layers update their states, so calls run one at a time.");
        return new StatefulCallScope(this);
    }

    private readonly struct StatefulCallScope(Model? model) : IDisposable
    {
        public void Dispose()
        {
            if (model is not null) Volatile.Write(ref model._statefulCallBusy, 0);
        }
    }
}
