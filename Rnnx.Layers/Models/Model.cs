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
/// A model: a graph of layer calls with Keras's training API, <see cref="O:Rnnx.Models.Model.Compile"/>, <see cref="O:Rnnx.Models.Model.Fit"/>,
/// <see cref="O:Rnnx.Models.Model.Evaluate"/>, <see cref="Predict(Tensor, int)"/>, <see cref="Summary"/>. Made from symbolic
/// tensors as Keras's functional API, <c>new Model(inputs, outputs)</c> (see <see cref="Input"/> and <see cref="Layer.Apply"/>),
/// or as a <see cref="Sequential"/> stack, which is the chain-shaped special case of the same graph.
/// </summary>
/// <remarks>
/// <para>
/// Concurrency: a built model serves any number of threads at once for its read-only paths —
/// <see cref="Predict(Tensor, int)"/>, <see cref="Predict(float[], int[])"/>, <see cref="Evaluate(Tensor, Tensor, int)"/>,
/// <see cref="Call"/>, <see cref="Summary"/>, <see cref="NamedWeights"/>, <see cref="GetWeights"/>, saving and ONNX
/// export — each call giving the same bits as alone, without waiting for the others (every call works on a pooled
/// workspace of its own). The first call on an unbuilt model builds it exactly once, whichever threads race to it.
/// Mutations — <see cref="Fit(Tensor, Tensor, int, int, bool, ValueTuple{Tensor, Tensor}?, IEnumerable{Callback}?, int, int, Tensor?, IReadOnlyDictionary{int, double}?)"/>, <see cref="O:Rnnx.Models.Model.TrainOnBatch"/>, <see cref="SetWeights"/>, <c>LoadWeights</c>,
/// <c>RestoreCheckpoint</c>, <see cref="O:Rnnx.Models.Model.Compile"/> — are refused with an <see cref="InvalidOperationException"/>
/// naming both operations while a read runs on another thread, and reads are refused while a mutation runs; two
/// mutations never run at once (two Fit calls: the second is refused). Callbacks of Fit run on Fit's thread and may
/// read, save and set weights. Writing a <see cref="Parameter"/>'s values directly bypasses these checks.
/// </para>
/// Training is data-parallel: each batch is split into <see cref="Shards"/> fixed shards whose gradients are summed in
/// shard order, so results are bit-identical whatever <see cref="Threads"/> is. Every buffer of a step comes from
/// per-shard tapes that are reset and reused, so a step allocates nothing after the first.
/// </remarks>
public partial class Model
{
    private protected readonly List<Layer> _layers = [];
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _nextSuffix = new(StringComparer.Ordinal);
    private int?[][] _slotShapes = [];
    private LayerGraph? _graph;
    private readonly FunctionalGraph? _functional;
    private Tape[] _tapes = [];
    private Gradients[] _shardGrads = [];
    private readonly Gradients _sum = new();
    private ShardWorkers? _workers;
    private int _workersBusy;
    private readonly ModelAccessGuard _access;
    private protected readonly Lock _buildLock = new();
    private volatile bool _isBuilt;
    private NumPyRandomState? _shuffleRng;

    /// <summary>The constructor of <see cref="Sequential"/>, which adds its layers itself.</summary>
    private protected Model(string name, int seed)
    {
        Name = name;
        _access = new ModelAccessGuard(() => Name);
        Seed = seed;
    }

    /// <summary>A functional model with one input and one output (Keras's <c>keras.Model(inputs, outputs)</c>).</summary>
    /// <param name="input">The model's input, made with <c>new Input(shape)</c>.</param>
    /// <param name="output">The tensor the model computes from it.</param>
    /// <param name="name">The model name.</param>
    /// <param name="seed">Seed of the initial weights (drawn at build, layer by layer) and of the per-epoch shuffles.</param>
    /// <exception cref="ArgumentException">The output does not depend on the input alone (see <see cref="Model(IReadOnlyList{SymbolicTensor}, IReadOnlyList{SymbolicTensor}, string, int)"/>).</exception>
    public Model(SymbolicTensor input, SymbolicTensor output, string name = "model", int seed = 42)
        : this([input ?? throw new ArgumentNullException(nameof(input))], [output ?? throw new ArgumentNullException(nameof(output))], name, seed) { }

    /// <summary>
    /// A functional model: the layer calls between <paramref name="inputs"/> and <paramref name="outputs"/>, run in
    /// topological order. Layers without a name get unique Keras-style names (<c>lstm</c>, <c>lstm_1</c>, ...).
    /// </summary>
    /// <param name="inputs">The model's inputs (each made with <c>new Input(shape)</c>), in the order data is given.</param>
    /// <param name="outputs">The tensors the model computes, in the order predictions and targets are given.</param>
    /// <param name="name">The model name.</param>
    /// <param name="seed">Seed of the initial weights (drawn at build, layer by layer) and of the per-epoch shuffles.</param>
    /// <exception cref="ArgumentException">
    /// An input that is not an <see cref="Input"/> or is given twice; an output that needs an input not among
    /// <paramref name="inputs"/> (the message names the layer and the missing input); an input no output uses; two
    /// different layers with the same name.
    /// </exception>
    public Model(IReadOnlyList<SymbolicTensor> inputs, IReadOnlyList<SymbolicTensor> outputs, string name = "model", int seed = 42)
        : this(name, seed)
    {
        _functional = FunctionalGraph.Trace(inputs, outputs, name);
        foreach (var layer in _functional.Layers) AdoptLayer(layer);
        _graph = _functional.Graph;
    }

    /// <summary>The model name.</summary>
    public string Name { get; set; }

    /// <summary>Seed of the initial weights (drawn at build) and of the per-epoch shuffles. Same seed, same training, bit for bit.</summary>
    public int Seed { get; set; }

    /// <summary>
    /// Threads used by <see cref="O:Rnnx.Models.Model.Fit"/>, <see cref="O:Rnnx.Models.Model.TrainOnBatch"/>, Predict and Evaluate
    /// (Fit's validation included) (default: up to 2; values below 1 count as 1). Does not change results: a batch is cut
    /// into <see cref="Shards"/> whatever the thread count; the shards run on up to this many threads, and threads beyond
    /// the shards split the shards' large products (row or column blocks computed with the same arithmetic as unsplit).
    /// Evaluate runs whole batches on the threads and adds their terms in batch order. To reproduce a run keep <see cref="Seed"/>,
    /// <see cref="Shards"/>, the batch size and the dtype; any thread count gives the same bits.
    /// </summary>
    public int Threads { get; set; } = Math.Min(2, Environment.ProcessorCount);

    /// <summary>Shards each batch is split into for data-parallel training (default 2). Part of the arithmetic: keep it fixed to reproduce a run.</summary>
    /// <exception cref="InvalidOperationException">Set while Fit, TrainOnBatch or another change runs (for example from a Fit callback): the running step's buffers are sized for the old value.</exception>
    public int Shards
    {
        get => _shards;
        set
        {
            using var mutation = _access.Mutate(nameof(Shards));
            _shards = value;
        }
    }
    private int _shards = 2;

    /// <summary>Set by a callback to stop after the current epoch.</summary>
    public bool StopTraining { get; set; }

    /// <summary>The layers: a functional model's input layers first, then every layer once, in the order of its first call.</summary>
    public IReadOnlyList<Layer> Layers => _layers;

    /// <summary>A functional model's inputs (empty for a <see cref="Sequential"/> model).</summary>
    public IReadOnlyList<SymbolicTensor> Inputs => _functional?.Inputs ?? [];

    /// <summary>A functional model's outputs (empty for a <see cref="Sequential"/> model).</summary>
    public IReadOnlyList<SymbolicTensor> Outputs => _functional?.Outputs ?? [];

    /// <summary>True for a model made from symbolic tensors (<see cref="Model(IReadOnlyList{SymbolicTensor}, IReadOnlyList{SymbolicTensor}, string, int)"/>).</summary>
    public bool IsFunctional => _functional is not null;

    /// <summary>The graph the model runs (set at construction for a functional model, at build for a Sequential one).</summary>
    internal LayerGraph Graph => _graph ?? throw new InvalidOperationException($"{Name}: the model is not built.");

    internal FunctionalGraph? Functional => _functional;

    /// <summary>True once every layer has weights.</summary>
    public bool IsBuilt => _isBuilt;

    /// <summary>The weights' dtype.</summary>
    public DType DType { get; private set; } = DType.Float32;

    /// <summary>The input shape the model was built for (without batch).</summary>
    public int?[]? InputShape { get; private set; }

    /// <summary>The (first) output shape (without batch).</summary>
    public int?[]? OutputShape => _isBuilt ? _slotShapes[Graph.OutputSlots[0]] : null;

    /// <summary>The output shape (without batch) of each node of the graph, in <see cref="LayerGraph.Nodes"/> order.</summary>
    internal IReadOnlyList<int?[]> NodeOutputShapes(int node) =>
        Enumerable.Range(0, Graph.Nodes[node].OutputCount).Select(i => _slotShapes[Graph.Nodes[node].FirstOutputSlot + i]).ToArray();

    /// <summary>The optimizer set by <see cref="O:Rnnx.Models.Model.Compile"/>.</summary>
    public IOptimizer? Optimizer { get; private set; }

    /// <summary>The loss set by <see cref="O:Rnnx.Models.Model.Compile"/>.</summary>
    public Loss? Loss { get; private set; }

    /// <summary>The metrics set by <see cref="O:Rnnx.Models.Model.Compile"/>.</summary>
    public IReadOnlyList<Metric> Metrics { get; private set; } = [];

    /// <summary>
    /// Takes a layer into the model, giving it a unique Keras-style name if it has none (<c>dense</c>, <c>dense_1</c>, ...).
    /// Constant time per layer: names are checked against the names the layers had when they were added.
    /// </summary>
    private protected void AdoptLayer(Layer layer)
    {
        if (!layer.HasExplicitName)
        {
            string b = layer.Name, n = b;
            int k = _nextSuffix.GetValueOrDefault(b, 1);
            if (_names.Contains(n))
                for (n = $"{b}_{k}"; _names.Contains(n); n = $"{b}_{++k}") { }
            _nextSuffix[b] = k;
            layer.Name = n;
        }
        else if (_names.Contains(layer.Name))
            throw new ArgumentException($"{Name}: a layer named '{layer.Name}' already exists; names must be unique.", nameof(layer));
        _layers.Add(layer);
        _names.Add(layer.Name);
    }

    /// <summary>
    /// Creates all weights for inputs of <paramref name="inputShape"/> (without batch; <c>null</c> for unknown lengths),
    /// or the shape declared by the first layer. Weights are drawn from a generator seeded with <see cref="Seed"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">No input shape is known.</exception>
    /// <exception cref="ShapeMismatchException">A layer rejects its input shape.</exception>
    /// <remarks>Threads racing to build (e.g. the first Predict calls) build the model once; the others wait for it.</remarks>
    public void Build(int?[]? inputShape = null, DType dtype = DType.Float32)
    {
        if (IsBuilt) return;
        lock (_buildLock) BuildUnderLock(inputShape, dtype);
    }

    private void BuildUnderLock(int?[]? inputShape, DType dtype)
    {
        if (IsBuilt) return;
        if (_layers.Count == 0) throw new InvalidOperationException($"{Name}: the model has no layers.");
        var graph = _graph ?? LayerGraph.Chain(_layers);
        var inputShapes = _functional?.InputShapes(inputShape) ?? [inputShape ?? _layers[0].DeclaredInputShape
            ?? throw new InvalidOperationException($"{Name}: no input shape; declare one on the first layer (inputShape: [null, 1]) or call Build(inputShape).")];
        var shapes = new int?[graph.SlotCount][];
        for (int i = 0; i < inputShapes.Count; i++) shapes[i] = inputShapes[i];
        using (BuildContext.Enter(dtype, new NumPyRandomState(unchecked((uint)Seed))))
        {
            foreach (var input in _functional?.Inputs ?? []) input.Layer.BuildInContext(input.ShapeArray);
            // Layers build in model order (their first call's shapes), so the weights draw from the seeded generator in Keras's order.
            foreach (var node in graph.Nodes)
            {
                var layer = node.Layer;
                var ins = node.InputSlots.Select(s => shapes[s]).ToArray();
                if (layer.IsBuilt && layer.DType != dtype)
                    throw new InvalidOperationException($"{Name}: layer {layer.Name} is already built in {layer.DType}.");
                if (layer.DeclaredInputShape is not null && node.InputSlots is not [0] && !SameShape(layer.DeclaredInputShape, ins[0]))
                    throw new ShapeMismatchException($"{Name}: layer {layer.Name} declares input {Layer.ShapeText(layer.DeclaredInputShape)} but receives {Layer.ShapeText(ins[0])}.");
                layer.BuildInContext(ins);
                var outs = layer.ComputeOutputShapes(ins);
                for (int i = 0; i < node.OutputCount; i++) shapes[node.FirstOutputSlot + i] = outs[i];
            }
        }
        InputShape = (int?[])inputShapes[0].Clone();
        _slotShapes = shapes;
        _graph = graph;
        UseModelBatchSize();
        DType = dtype;
        _isBuilt = true;   // last: a thread that sees the model built sees its layers, shapes and weights
    }

    private static bool SameShape(int?[] a, int?[] b) => a.Length == b.Length && a.Zip(b).All(p => p.First is null || p.Second is null || p.First == p.Second);

    /// <summary>Sets the optimizer, loss (default mean squared error) and metrics.</summary>
    /// <exception cref="ArgumentException">A null metric or a metric name used twice (the model is left unchanged).</exception>
    /// <exception cref="InvalidOperationException">A prediction, evaluation or training runs on another thread.</exception>
    public void Compile(IOptimizer optimizer, Loss? loss = null, params Metric[] metrics)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        using var mutation = _access.Mutate(nameof(Compile), reentrant: true);
        var checkedMetrics = CheckedMetrics(metrics, null);   // before any change: a refused call leaves the model as it was
        Optimizer = optimizer;
        Loss = loss ?? Loss.MeanSquaredError;
        OutputLosses = null;
        LossWeights = null;
        Metrics = checkedMetrics;
        OutputMetrics = null;
    }

    /// <summary>
    /// Sets the optimizer, a loss per output (in <see cref="Outputs"/> order) and optional weights of the outputs'
    /// losses (Keras's <c>compile(loss=[...], loss_weights=[...])</c>): the training loss is Σ weight·loss over outputs.
    /// The <paramref name="metrics"/> apply to every output.
    /// </summary>
    /// <exception cref="ArgumentException">Not one loss (and weight) per output, or a weight that is negative or not finite.</exception>
    /// <exception cref="InvalidOperationException">A prediction, evaluation or training runs on another thread.</exception>
    public void Compile(IOptimizer optimizer, IReadOnlyList<Loss> losses, IReadOnlyList<double>? lossWeights = null, params Metric[] metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        CompileOutputs(optimizer, losses, lossWeights, null, metrics);
    }

    /// <summary>
    /// Sets the optimizer, a loss per output, optional loss weights and a list of metrics per output (Keras's
    /// <c>compile(metrics=[[...], [...]])</c>): output o is measured by <paramref name="outputMetrics"/>[o] only, and
    /// History names them <c>&lt;output&gt;_&lt;metric&gt;</c> with several outputs, as Keras 3's
    /// keras/src/trainers/compile_utils.py CompileMetrics does.
    /// </summary>
    /// <exception cref="ArgumentException">Not one loss, weight and metric list per output; a bad weight; a metric twice for one output.</exception>
    /// <exception cref="InvalidOperationException">A prediction, evaluation or training runs on another thread.</exception>
    public void Compile(IOptimizer optimizer, IReadOnlyList<Loss> losses, IReadOnlyList<double>? lossWeights, IReadOnlyList<IReadOnlyList<Metric>> outputMetrics)
    {
        ArgumentNullException.ThrowIfNull(outputMetrics);
        CompileOutputs(optimizer, losses, lossWeights, outputMetrics, []);
    }

    /// <summary>
    /// Sets the optimizer, one loss for every output (default mean squared error) and a list of metrics per output, in
    /// <see cref="Outputs"/> order (Keras's <c>compile(loss="mse", metrics=[[...], [...]])</c>).
    /// </summary>
    /// <exception cref="ArgumentException">Not one metric list per output, or a metric twice for one output.</exception>
    /// <exception cref="InvalidOperationException">A prediction, evaluation or training runs on another thread.</exception>
    public void Compile(IOptimizer optimizer, Loss? loss, IReadOnlyList<IReadOnlyList<Metric>> outputMetrics)
    {
        ArgumentNullException.ThrowIfNull(outputMetrics);
        var chosen = loss ?? Loss.MeanSquaredError;
        CompileOutputs(optimizer, Enumerable.Repeat(chosen, _functional?.Outputs.Count ?? 1).ToArray(), null, outputMetrics, []);
    }

    /// <summary>
    /// Keras's dict form of <c>compile</c>: the loss, loss weight and metrics of each output keyed by its name
    /// (<see cref="OutputNames"/>). Every output needs a loss; an output missing from <paramref name="lossWeights"/>
    /// weighs 1 and one missing from <paramref name="outputMetrics"/> has no metrics.
    /// </summary>
    /// <exception cref="ArgumentException">A key that names no output (the message lists the outputs), an output without a loss, or a bad weight.</exception>
    /// <exception cref="InvalidOperationException">A prediction, evaluation or training runs on another thread.</exception>
    public void Compile(IOptimizer optimizer, IReadOnlyDictionary<string, Loss> losses, IReadOnlyDictionary<string, double>? lossWeights = null,
        IReadOnlyDictionary<string, IReadOnlyList<Metric>>? outputMetrics = null)
    {
        ArgumentNullException.ThrowIfNull(losses);
        var names = OutputNamesFor("compile");
        var lossList = ByName<Loss>(losses, names, "output", "losses", nameof(losses), required: true);
        var weightList = lossWeights is null ? null : ByName(lossWeights, names, "output", "loss weights", nameof(lossWeights), required: false, missing: 1.0);
        var metricLists = outputMetrics is null ? null : ByName(outputMetrics, names, "output", "metrics", nameof(outputMetrics), required: false, missing: Array.Empty<Metric>());
        CompileOutputs(optimizer, lossList, weightList, metricLists, []);
    }

    private void CompileOutputs(IOptimizer optimizer, IReadOnlyList<Loss> losses, IReadOnlyList<double>? lossWeights, IReadOnlyList<IReadOnlyList<Metric>>? outputMetrics, Metric[] metrics)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(losses);
        int outputs = _functional?.Outputs.Count ?? 1;
        if (losses.Count != outputs || losses.Any(l => l is null))
            throw new ArgumentException($"{Name}: the model gives {outputs} output(s); pass one loss for each, got {losses.Count}.", nameof(losses));
        if (lossWeights is not null && lossWeights.Count != outputs)
            throw new ArgumentException($"{Name}: the model gives {outputs} output(s); pass one loss weight for each, got {lossWeights.Count}.", nameof(lossWeights));
        foreach (var w in lossWeights ?? [])
            if (!double.IsFinite(w) || w < 0) throw new ArgumentException($"{Name}: loss weights must be finite and not negative, got {w}.", nameof(lossWeights));
        if (outputMetrics is not null && outputMetrics.Count != outputs)
            throw new ArgumentException($"{Name}: the model gives {outputs} output(s); pass one list of metrics for each, got {outputMetrics.Count}.", nameof(outputMetrics));
        var perOutput = outputMetrics?.Select((list, o) => CheckedMetrics(list ?? [], OutputName(o))).ToArray();
        var shared = CheckedMetrics(metrics, null);
        using var mutation = _access.Mutate(nameof(Compile), reentrant: true);
        Optimizer = optimizer;
        Loss = losses[0];
        OutputLosses = losses.ToArray();
        LossWeights = lossWeights?.ToArray();
        Metrics = shared;
        OutputMetrics = perOutput;
    }

    /// <summary>The loss of each output when compiled with one per output, else null (every output uses <see cref="Loss"/>).</summary>
    public IReadOnlyList<Loss>? OutputLosses { get; private set; }

    /// <summary>Each output's weight in the training loss (Keras <c>loss_weights</c>), or null for 1 each.</summary>
    public IReadOnlyList<double>? LossWeights { get; private set; }

    /// <summary>The metrics of each output when compiled with a list per output, else null (every output uses <see cref="Metrics"/>).</summary>
    public IReadOnlyList<IReadOnlyList<Metric>>? OutputMetrics { get; private set; }

    /// <summary>The metrics that measure output <paramref name="o"/>.</summary>
    private IReadOnlyList<Metric> MetricsOf(int o) => OutputMetrics?[o] ?? Metrics;

    /// <summary>The metrics as an array, refusing a null or a name used twice (which would give two History entries one key).</summary>
    private Metric[] CheckedMetrics(IReadOnlyList<Metric> metrics, string? output)
    {
        var names = new HashSet<string> { "loss" };
        string of = output is null ? "" : $" for output '{output}'";
        foreach (var m in metrics)
        {
            if (m is null) throw new ArgumentException($"{Name}: a metric{of} is null.", nameof(metrics));
            if (!names.Add(m.Name)) throw new ArgumentException($"{Name}: metric name '{m.Name}' is used twice{of}.", nameof(metrics));
        }
        return metrics.ToArray();
    }

    /// <summary>All weights in Keras order (layer by layer).</summary>
    public IReadOnlyList<Parameter> Weights
    {
        get
        {
            if (IsBuilt) return _layers.SelectMany(l => l.Weights).ToList();
            lock (_buildLock) return _layers.SelectMany(l => l.Weights).ToList();   // not while another thread builds
        }
    }

    /// <summary>The trainable weights.</summary>
    public IReadOnlyList<Parameter> TrainableWeights => Weights.Where(p => p.Trainable).ToList();

    /// <summary>Number of scalars in all weights.</summary>
    public int CountParams() => Weights.Sum(p => p.Size);

    /// <summary>Weights with Keras-style paths such as <c>lstm/kernel</c> or <c>rnn/ln_simple_rnn_cell/layer_normalization/gamma</c>.</summary>
    public IReadOnlyList<(string Name, Parameter Parameter)> NamedWeights()
    {
        var list = new List<(string, Parameter)>();
        if (IsBuilt) foreach (var l in _layers) list.AddRange(l.NamedWeights());
        else lock (_buildLock) foreach (var l in _layers) list.AddRange(l.NamedWeights());   // not while another thread builds
        return list;
    }

    /// <summary>Copies of all weights in Keras order.</summary>
    /// <exception cref="InvalidOperationException">A mutation (Fit, SetWeights, ...) runs on another thread.</exception>
    public Tensor[] GetWeights()
    {
        using var read = _access.Read(nameof(GetWeights));
        return Weights.Select(p => p.Value.Copy()).ToArray();
    }

    /// <summary>Sets all weights in Keras order (as Keras's <c>set_weights</c>); nothing changes if any shape is wrong.</summary>
    /// <exception cref="ArgumentException">Wrong count or shape, naming the weight.</exception>
    /// <exception cref="InvalidOperationException">A prediction, evaluation or training runs on another thread.</exception>
    public void SetWeights(params Tensor[] weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        RequireBuilt();
        using var mutation = _access.Mutate(nameof(SetWeights), reentrant: true);
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
    /// <remarks>
    /// Safe to call from many threads at once, each with its own tape (or none), on a model without stateful layers.
    /// On a stateful model each call reads and updates the carried states, so calls run one at a time: a call while
    /// another Call, CallMany, Predict or Evaluate runs is refused.
    /// </remarks>
    /// <exception cref="InvalidOperationException">A mutation (Fit, SetWeights, ...) runs on another thread, or (stateful model) another call uses the states.</exception>
    public Tensor Call(Tensor x, bool training = false)
    {
        using var read = _access.Read(nameof(Call));
        using var statefulCall = EnterStatefulCall(nameof(Call));
        RequireOneInputAndOutput();
        if (!IsBuilt) Build((_layers.Count > 0 ? _layers[0].DeclaredInputShape : null) ?? Layer.WithoutBatch(x.Shape), x.DType);
        return RunLayers(x, training);
    }

    /// <summary>The graph on a built one-input, one-output model, without the access check (the caller holds it).</summary>
    private Tensor RunLayers(Tensor x, bool training) => _graph!.Run(x, training);

    /// <summary>The graph with the output's mask (Keras's mask of Masking / Embedding(maskZero), carried layer to layer), for the loss and metrics.</summary>
    private Tensor RunLayers(Tensor x, bool training, out Tensor? mask) => _graph!.Run(x, training, out mask);

    /// <summary>The access guard that saving, loading and export take around their reads and writes.</summary>
    internal ModelAccessGuard Access => _access;

    /// <summary>Threads a step or a Predict chunk runs on: <see cref="Threads"/>, at least 1.</summary>
    private int ThreadsUsed => Math.Max(1, Threads);

    /// <summary>
    /// The shard threads for <paramref name="threads"/>, if no other call is using them (null otherwise: the caller
    /// runs its shards itself). Give them back with <see cref="ReleaseWorkers"/>.
    /// </summary>
    private ShardWorkers? TryAcquireWorkers(int threads)
    {
        if (Interlocked.CompareExchange(ref _workersBusy, 1, 0) != 0) return null;
        if (_workers is null || _workers.Threads != threads)
        {
            _workers?.Dispose();
            _workers = new ShardWorkers(threads - 1);
        }
        return _workers;
    }

    private void ReleaseWorkers() => Volatile.Write(ref _workersBusy, 0);


    /// <summary>
    /// A Keras-style table of layers, output shapes and parameter counts; a functional model's table also has Keras's
    /// "Connected to" column (the inputs of each call, as <c>layer[call][output]</c>).
    /// </summary>
    public string Summary()
    {
        RequireBuilt();
        if (_functional is not null) return FunctionalSummary();
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
            string shape = BatchShape(_slotShapes[i + 1]);
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
