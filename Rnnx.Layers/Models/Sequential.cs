using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using System.Text;
using Rnnx.Layers;
using Rnnx.Losses;
using Rnnx.Metrics;
using Rnnx.Optimization;
using Rnnx.Random;

namespace Rnnx.Models;

/// <summary>
/// A linear stack of layers with Keras's training API: <see cref="Compile"/>, <see cref="O:Rnnx.Models.Sequential.Fit"/>,
/// <see cref="O:Rnnx.Models.Sequential.Evaluate"/>, <see cref="Predict(Tensor, int)"/>, <see cref="Summary"/>.
/// </summary>
/// <remarks>
/// Training is data-parallel: each batch is split into <see cref="Shards"/> fixed shards whose gradients are summed in
/// shard order, so results are bit-identical whatever <see cref="Threads"/> is. Every buffer of a step comes from
/// per-shard tapes that are reset and reused, so a step allocates nothing after the first.
/// </remarks>
public sealed partial class Sequential
{
    private readonly List<Layer> _layers = [];
    private readonly List<int?[]> _outputShapes = [];
    private Tape[] _tapes = [];
    private Tape? _evalTape;
    private Gradients[] _shardGrads = [];
    private readonly Gradients _sum = new();
    private ShardWorkers? _workers;
    private NumPyRandomState? _shuffleRng;

    /// <summary>Creates a model from layers (the first may declare the input shape).</summary>
    public Sequential(params Layer[] layers) : this((IEnumerable<Layer>)layers) { }

    /// <summary>Creates a model from layers with a name and the seed of its initial weights and shuffling.</summary>
    public Sequential(IEnumerable<Layer> layers, string name = "sequential", int seed = 42)
    {
        ArgumentNullException.ThrowIfNull(layers);
        Name = name;
        Seed = seed;
        foreach (var l in layers) Add(l);
    }

    /// <summary>The model name.</summary>
    public string Name { get; set; }

    /// <summary>Seed of the initial weights (drawn at build) and of the per-epoch shuffles. Same seed, same training, bit for bit.</summary>
    public int Seed { get; set; }

    /// <summary>Threads used by <see cref="O:Rnnx.Models.Sequential.Fit"/> (default: up to 2). Does not change results.</summary>
    public int Threads { get; set; } = Math.Min(2, Environment.ProcessorCount);

    /// <summary>Shards each batch is split into for data-parallel training (default 2). Part of the arithmetic: keep it fixed to reproduce a run.</summary>
    public int Shards { get; set; } = 2;

    /// <summary>Set by a callback to stop after the current epoch.</summary>
    public bool StopTraining { get; set; }

    /// <summary>The layers.</summary>
    public IReadOnlyList<Layer> Layers => _layers;

    /// <summary>True once every layer has weights.</summary>
    public bool IsBuilt { get; private set; }

    /// <summary>The weights' dtype.</summary>
    public DType DType { get; private set; } = DType.Float32;

    /// <summary>The input shape the model was built for (without batch).</summary>
    public int?[]? InputShape { get; private set; }

    /// <summary>The output shape (without batch).</summary>
    public int?[]? OutputShape => _outputShapes.Count > 0 ? _outputShapes[^1] : null;

    /// <summary>The optimizer set by <see cref="Compile"/>.</summary>
    public IOptimizer? Optimizer { get; private set; }

    /// <summary>The loss set by <see cref="Compile"/>.</summary>
    public Loss? Loss { get; private set; }

    /// <summary>The metrics set by <see cref="Compile"/>.</summary>
    public IReadOnlyList<Metric> Metrics { get; private set; } = [];

    /// <summary>Appends a layer, giving it a unique Keras-style name if it has none.</summary>
    public void Add(Layer layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        if (IsBuilt) throw new InvalidOperationException($"{Name}: cannot add layers after the model is built.");
        if (_layers.Contains(layer)) throw new ArgumentException($"{Name}: layer {layer.Name} was already added.", nameof(layer));
        if (!layer.HasExplicitName)
        {
            string b = layer.Name, n = b;
            for (int k = 1; _layers.Any(l => l.Name == n); k++) n = $"{b}_{k}";
            layer.Name = n;
        }
        else if (_layers.Any(l => l.Name == layer.Name))
            throw new ArgumentException($"{Name}: a layer named '{layer.Name}' already exists; names must be unique.", nameof(layer));
        _layers.Add(layer);
    }

    /// <summary>
    /// Creates all weights for inputs of <paramref name="inputShape"/> (without batch; <c>null</c> for unknown lengths),
    /// or the shape declared by the first layer. Weights are drawn from a generator seeded with <see cref="Seed"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">No input shape is known.</exception>
    /// <exception cref="ShapeMismatchException">A layer rejects its input shape.</exception>
    public void Build(int?[]? inputShape = null, DType dtype = DType.Float32)
    {
        if (IsBuilt) return;
        if (_layers.Count == 0) throw new InvalidOperationException($"{Name}: the model has no layers.");
        var shape = inputShape ?? _layers[0].DeclaredInputShape
            ?? throw new InvalidOperationException($"{Name}: no input shape; declare one on the first layer (inputShape: [null, 1]) or call Build(inputShape).");
        InputShape = (int?[])shape.Clone();
        using (BuildContext.Enter(dtype, new NumPyRandomState(unchecked((uint)Seed))))
        {
            _outputShapes.Clear();
            foreach (var layer in _layers)
            {
                if (layer.IsBuilt && layer.DType != dtype)
                    throw new InvalidOperationException($"{Name}: layer {layer.Name} is already built in {layer.DType}.");
                if (layer.DeclaredInputShape is not null && layer != _layers[0] && !SameShape(layer.DeclaredInputShape, shape))
                    throw new ShapeMismatchException($"{Name}: layer {layer.Name} declares input {Layer.ShapeText(layer.DeclaredInputShape)} but receives {Layer.ShapeText(shape)}.");
                layer.BuildInContext(shape);
                shape = layer.ComputeOutputShape(shape);
                _outputShapes.Add(shape);
            }
        }
        DType = dtype;
        IsBuilt = true;
    }

    private static bool SameShape(int?[] a, int?[] b) => a.Length == b.Length && a.Zip(b).All(p => p.First is null || p.Second is null || p.First == p.Second);

    /// <summary>Sets the optimizer, loss (default mean squared error) and metrics.</summary>
    public void Compile(IOptimizer optimizer, Loss? loss = null, params Metric[] metrics)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        Optimizer = optimizer;
        Loss = loss ?? Loss.MeanSquaredError;
        var names = new HashSet<string> { "loss" };
        foreach (var m in metrics)
            if (!names.Add(m.Name)) throw new ArgumentException($"{Name}: metric name '{m.Name}' is used twice.", nameof(metrics));
        Metrics = metrics.ToArray();
    }

    /// <summary>All weights in Keras order (layer by layer).</summary>
    public IReadOnlyList<Parameter> Weights => _layers.SelectMany(l => l.Weights).ToList();

    /// <summary>The trainable weights.</summary>
    public IReadOnlyList<Parameter> TrainableWeights => Weights.Where(p => p.Trainable).ToList();

    /// <summary>Number of scalars in all weights.</summary>
    public int CountParams() => _layers.Sum(l => l.CountParams());

    /// <summary>Weights with Keras-style paths such as <c>lstm/kernel</c> or <c>rnn/ln_simple_rnn_cell/layer_normalization/gamma</c>.</summary>
    public IReadOnlyList<(string Name, Parameter Parameter)> NamedWeights()
    {
        var list = new List<(string, Parameter)>();
        foreach (var l in _layers) list.AddRange(l.NamedWeights());
        return list;
    }

    /// <summary>Copies of all weights in Keras order.</summary>
    public Tensor[] GetWeights() => Weights.Select(p => p.Value.Copy()).ToArray();

    /// <summary>Sets all weights in Keras order (as Keras's <c>set_weights</c>); nothing changes if any shape is wrong.</summary>
    /// <exception cref="ArgumentException">Wrong count or shape, naming the weight.</exception>
    public void SetWeights(params Tensor[] weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        RequireBuilt();
        var named = NamedWeights();
        if (weights.Length != named.Count)
            throw new ArgumentException($"{Name}: expected {named.Count} weight arrays, got {weights.Length}.", nameof(weights));
        for (int i = 0; i < named.Count; i++)
            if (weights[i].Shape != named[i].Parameter.Shape)
                throw new ShapeMismatchException($"{Name}: weight {i} '{named[i].Name}' has shape {named[i].Parameter.Shape}, the value has {weights[i].Shape}.", nameof(weights));
        for (int i = 0; i < named.Count; i++) named[i].Parameter.Assign(weights[i]);
    }

    private void RequireBuilt()
    {
        if (!IsBuilt) throw new InvalidOperationException($"{Name}: the model is not built; call Build, Fit or declare an input shape.");
    }

    /// <summary>Runs the layers on a batch.</summary>
    /// <param name="x">(batch, ...) inputs.</param>
    /// <param name="training">
    /// Keras's training flag, passed down to every sub-layer and cell for layers that behave differently while
    /// training (such as dropout; no built-in Rnnx layer does, so it changes nothing for them). It does not decide
    /// whether the call is recorded for backpropagation: operations are recorded whenever a tape is active and
    /// recording, whatever this flag says. To record nothing, call outside any active tape or inside
    /// <see cref="Tape.NoGrad"/> (as <c>Predict</c> and <c>Evaluate</c> do).
    /// </param>
    /// <returns>The outputs; recorded on the active tape, if any, for <see cref="Tape.Backward(Tensor, Tensor?)"/>.</returns>
    public Tensor Call(Tensor x, bool training = false)
    {
        if (!IsBuilt) Build(_layers.Count > 0 ? _layers[0].DeclaredInputShape ?? DataShape(x) : DataShape(x), x.DType);
        foreach (var l in _layers) x = l.Call(x, training);
        return x;
    }

    private static int?[] DataShape(Tensor x)
    {
        var s = new int?[x.Rank - 1];
        for (int i = 1; i < x.Rank; i++) s[i - 1] = x.Shape[i];
        return s;
    }


    /// <summary>A Keras-style table of layers, output shapes and parameter counts.</summary>
    public string Summary()
    {
        RequireBuilt();
        var sb = new StringBuilder();
        string line = new('_', 65), dline = new('=', 65);
        sb.AppendLine(CultureInfo.InvariantCulture, $"Model: \"{Name}\"");
        sb.AppendLine(line);
        sb.AppendLine(" Layer (type)                Output Shape              Param #   ");
        sb.AppendLine(dline);
        for (int i = 0; i < _layers.Count; i++)
        {
            var l = _layers[i];
            if (l is InputLayer) continue;   // as Keras: the input layer is not a row of a Sequential summary
            string shape = "(None, " + string.Join(", ", _outputShapes[i].Select(d => d?.ToString() ?? "None")) + ")";
            string name = $"{l.Name} ({l.GetType().Name})";
            sb.AppendLine(CultureInfo.InvariantCulture, $" {name,-27} {shape,-25} {l.CountParams().ToString("N0", CultureInfo.InvariantCulture),-10}");
            sb.AppendLine(i == _layers.Count - 1 ? dline : "");
        }
        int total = CountParams(), trainable = TrainableWeights.Sum(p => p.Size);
        sb.AppendLine(CultureInfo.InvariantCulture, $"Total params: {total:N0}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"Trainable params: {trainable:N0}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"Non-trainable params: {total - trainable:N0}");
        sb.Append(line);
        return sb.ToString();
    }
}
