using Rnnx.Layers;

namespace Rnnx.Models;

/// <summary>
/// A linear stack of layers (Keras's <c>Sequential</c>): a <see cref="Model"/> whose graph is the chain of its layers,
/// each called on the previous one's output. Training, inference, saving and export are the model's.
/// </summary>
public sealed class Sequential : Model
{
    private readonly HashSet<Layer> _added = new(ReferenceEqualityComparer.Instance);

    /// <summary>Creates a model from layers (the first may declare the input shape).</summary>
    public Sequential(params Layer[] layers) : this((IEnumerable<Layer>)layers) { }

    /// <summary>Creates a model from layers with a name and the seed of its initial weights and shuffling.</summary>
    public Sequential(IEnumerable<Layer> layers, string name = "sequential", int seed = 42) : base(name, seed)
    {
        ArgumentNullException.ThrowIfNull(layers);
        foreach (var l in layers) Add(l);
    }

    /// <summary>
    /// Appends a layer, giving it a unique Keras-style name if it has none (<c>dense</c>, <c>dense_1</c>, ...). Constant
    /// time per layer: names are checked against the names the layers had when they were added.
    /// </summary>
    /// <exception cref="InvalidOperationException">The model is built (layers cannot change after the first prediction or Build).</exception>
    public void Add(Layer layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        lock (_buildLock)
        {
            if (IsBuilt) throw new InvalidOperationException($"{Name}: cannot add layers after the model is built.");
            if (_added.Contains(layer)) throw new ArgumentException($"{Name}: layer {layer.Name} was already added.", nameof(layer));
            AdoptLayer(layer);
            _added.Add(layer);
        }
    }
}
