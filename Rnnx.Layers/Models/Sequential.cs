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
/// A linear stack of layers with Keras's training API: <see cref="Compile"/>, <see cref="Fit"/>,
/// <see cref="Evaluate"/>, <see cref="Predict(Tensor, int)"/>, <see cref="Summary"/>.
/// </summary>
/// <remarks>
/// Training is data-parallel: each batch is split into <see cref="Shards"/> fixed shards whose gradients are summed in
/// shard order, so results are bit-identical whatever <see cref="Threads"/> is. Every buffer of a step comes from
/// per-shard tapes that are reset and reused, so a step allocates nothing after the first.
/// </remarks>
public sealed class Sequential
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

    /// <summary>Threads used by <see cref="Fit"/> (default: up to 2). Does not change results.</summary>
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
        foreach (var l in _layers) l.CollectNamedWeights(l.Name, list);
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

    /// <summary>Runs the layers on a batch (records on the active tape when training).</summary>
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

    // ------------------------------------------------------------------ validation of data

    private Tensor CheckInputs(Tensor x, string what, bool checkFinite = true)
    {
        if (!x.IsValid) throw new ArgumentException($"{Name}: {what} is an invalid tensor.");
        if (x.Rank < 2) throw new ShapeMismatchException($"{Name}: {what} must be (samples, ...), got {x.Shape}.");
        if (!IsBuilt)
        {
            var declared = _layers.Count > 0 ? _layers[0].DeclaredInputShape : null;
            Build(declared ?? DataShape(x), DType);
        }
        var expected = InputShape!;
        bool ok = expected.Length == x.Rank - 1;
        for (int i = 0; ok && i < expected.Length; i++) ok = expected[i] is null || expected[i] == x.Shape[i + 1];
        if (!ok) throw new ShapeMismatchException($"{Name}: expects {what} of shape (samples, {string.Join(", ", expected.Select(d => d?.ToString() ?? "None"))}), got {x.Shape}.");
        if (checkFinite) CheckFinite(x, what);
        return x.DType == DType ? x : x.Copy(DType);
    }

    private void CheckFinite(Tensor t, string what)
    {
        // Fast path: one vectorized pass; the scan below only runs to name the first bad value.
        if (t.DType == DType.Float32 ? Kernels.ReductionKernels.AllFinite<float>(t.AsSpan<float>())
                                     : Kernels.ReductionKernels.AllFinite<double>(t.AsSpan<double>()))
            return;
        int bad = -1;
        if (t.DType == DType.Float32)
        {
            var s = t.AsSpan<float>();
            for (int i = 0; i < s.Length; i++) if (!float.IsFinite(s[i])) { bad = i; break; }
        }
        else
        {
            var s = t.AsSpan<double>();
            for (int i = 0; i < s.Length; i++) if (!double.IsFinite(s[i])) { bad = i; break; }
        }
        if (bad >= 0)
        {
            int row = bad / (t.Size / t.Shape[0]);
            throw new ArgumentException($"{Name}: {what} contains {t.GetValue(bad)} at sample {row} (flat index {bad}); data must be finite.");
        }
    }

    private Tensor AlignTargets(Tensor x, Tensor y, string what)
    {
        if (!y.IsValid) throw new ArgumentException($"{Name}: {what} is an invalid tensor.");
        if (y.Rank < 1) throw new ShapeMismatchException($"{Name}: {what} must be (samples, ...), got {y.Shape}.");
        if (y.Shape[0] != x.Shape[0])
            throw new ShapeMismatchException($"{Name}: {x.Shape[0]} input samples but {y.Shape[0]} samples in the {what} ({x.Shape} vs {y.Shape}).");
        // Concrete output shape for this input.
        var shape = DataShape(x);
        foreach (var l in _layers) shape = l.ComputeOutputShape(shape);
        int outSize = 1;
        foreach (var d in shape) outSize *= d ?? 1;
        var outShape = new Shape([x.Shape[0], .. shape.Select(d => d ?? 1)]);
        CheckFinite(y, what);
        var yy = y.DType == DType ? y : y.Copy(DType);
        if (yy.Shape == outShape) return yy;
        if (yy.Size == outShape.Size && (yy.Rank == outShape.Rank + 1 && yy.Shape.Last == 1 || yy.Rank + 1 == outShape.Rank && outShape.Last == 1))
            return Tensor.Reshape(yy, outShape);   // Keras squeezes/expands a trailing size-1 axis
        throw new ShapeMismatchException($"{Name}: {what} have shape {y.Shape} but the model outputs (samples, {string.Join(", ", shape)}) for inputs {x.Shape}.");
    }

    // ------------------------------------------------------------------ training

    private sealed class StepState
    {
        public Tensor X, Y;
        public int[] Index = [];
        public int BatchStart, BatchCount;
        public int ShardCount;
        public bool Predicting;
        public Tensor Result;
        public double[] ShardLoss = [];
        public double[,] MetricSum = new double[0, 0];
        public int[,] MetricCount = new int[0, 0];
    }

    private readonly StepState _step = new();

    /// <summary>
    /// Trains for <paramref name="epochs"/> epochs with Keras's defaults: batches of 32 from a fresh shuffle each epoch
    /// (the last partial batch kept), one optimizer step per batch, validation at each epoch end.
    /// </summary>
    /// <param name="x">Inputs (samples, ...), e.g. (7000, 50, 1).</param>
    /// <param name="y">Targets (samples, ...) matching the model's output.</param>
    /// <param name="epochs">Number of epochs.</param>
    /// <param name="batchSize">Batch size.</param>
    /// <param name="shuffle">Shuffle each epoch.</param>
    /// <param name="validationData">Optional (inputs, targets) evaluated after each epoch.</param>
    /// <param name="callbacks">Optional callbacks.</param>
    /// <param name="verbose">0 silent, 1 one line per epoch on the console.</param>
    /// <param name="initialEpoch">Epoch to start from (for resuming).</param>
    /// <returns>Per-epoch loss, metrics and validation values.</returns>
    /// <exception cref="InvalidOperationException">Not compiled.</exception>
    /// <exception cref="ArgumentException">Bad data (shapes, sample counts, non-finite values), before any training.</exception>
    /// <exception cref="TrainingDivergedException">A non-finite loss or gradient; the weights are those before that step.</exception>
    public History Fit(Tensor x, Tensor y, int epochs = 1, int batchSize = 32, bool shuffle = true,
        (Tensor X, Tensor Y)? validationData = null, IEnumerable<Callback>? callbacks = null, int verbose = 1, int initialEpoch = 0)
    {
        if (Optimizer is null || Loss is null) throw new InvalidOperationException($"{Name}: call Compile(optimizer, loss) before Fit.");
        ArgumentOutOfRangeException.ThrowIfNegative(epochs);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        ArgumentOutOfRangeException.ThrowIfNegative(initialEpoch);
        if (Shards < 1) throw new InvalidOperationException($"{Name}: Shards must be at least 1.");
        x = CheckInputs(x, "inputs");
        y = AlignTargets(x, y, "targets");
        Tensor vx = default, vy = default;
        if (validationData is { } vd)
        {
            vx = CheckInputs(vd.X, "validation inputs");
            vy = AlignTargets(vx, vd.Y, "validation targets");
        }
        var cbs = (callbacks ?? []).ToList();
        if (verbose > 0) cbs.Add(new EpochLogger());
        foreach (var c in cbs) c.Model = this;

        int n = x.Shape[0];
        int steps = (n + batchSize - 1) / batchSize;
        var history = new History();
        var trainable = TrainableWeights;
        EnsureTraining();
        _shuffleRng ??= new NumPyRandomState(unchecked((uint)Seed + 1));
        var index = new int[n];
        var logs = new Dictionary<string, double>();
        StopTraining = false;
        foreach (var c in cbs) c.OnTrainBegin(new TrainingInfo(epochs, steps, n, validationData is not null));
        try
        {
            for (int epoch = initialEpoch; epoch < epochs && !StopTraining; epoch++)
            {
                foreach (var c in cbs) c.OnEpochBegin(epoch);
                var sw = Stopwatch.StartNew();
                for (int i = 0; i < n; i++) index[i] = i;
                if (shuffle) _shuffleRng.Shuffle(index.AsSpan());
                double lossTotal = 0;
                int lossCount = 0;
                var mSum = new double[Metrics.Count];
                var mCount = new long[Metrics.Count];
                for (int b = 0; b < steps; b++)
                {
                    int start = b * batchSize, count = Math.Min(batchSize, n - start);
                    double loss = TrainStep(x, y, index, start, count, trainable, epoch, b, history);
                    lossTotal += loss * count;
                    lossCount += count;
                    for (int m = 0; m < Metrics.Count; m++)
                        for (int s = 0; s < _step.ShardCount; s++)
                        {
                            mSum[m] += _step.MetricSum[s, m];
                            mCount[m] += _step.MetricCount[s, m];
                        }
                    if (cbs.Count > 0)
                    {
                        logs.Clear();
                        logs["loss"] = lossTotal / lossCount;
                        for (int m = 0; m < Metrics.Count; m++) logs[Metrics[m].Name] = mSum[m] / mCount[m];
                        foreach (var c in cbs) c.OnBatchEnd(epoch, b, logs);
                    }
                }
                var epochLogs = new Dictionary<string, double> { ["loss"] = lossTotal / lossCount };
                for (int m = 0; m < Metrics.Count; m++) epochLogs[Metrics[m].Name] = mSum[m] / mCount[m];
                double trainSeconds = sw.Elapsed.TotalSeconds;
                if (validationData is not null)
                {
                    var v = EvaluateCore(vx, vy, batchSize);
                    foreach (var (k, val) in v) epochLogs["val_" + k] = val;
                }
                sw.Stop();
                history.Append(epochLogs, sw.Elapsed.TotalSeconds, trainSeconds);
                foreach (var c in cbs) c.OnEpochEnd(epoch, epochLogs, sw.Elapsed.TotalSeconds);
            }
            if (StopTraining && history.StopReason is null) history.StopReason = "stopped by a callback";
        }
        // --- issue #6: with a TerminateOnNaN callback a divergence ends training normally (weights from before the bad step).
        catch (TrainingDivergedException e) when (TerminateOnNaN.Handles(cbs, e))
        {
            StopTraining = true;
        }
        // --- end issue #6
        finally
        {
            foreach (var t in _tapes) t.Reset();
        }
        foreach (var c in cbs) c.OnTrainEnd(history);
        return history;
    }

    /// <summary>
    /// One optimizer step on one batch (Keras's <c>train_on_batch</c>): forward, batch-mean loss, backward, update.
    /// Allocates nothing after the first call with the same batch size.
    /// </summary>
    /// <returns>The batch loss before the update.</returns>
    /// <exception cref="InvalidOperationException">Not compiled.</exception>
    /// <exception cref="ArgumentException">Bad data.</exception>
    /// <exception cref="TrainingDivergedException">A non-finite loss or gradient; the weights are left unchanged.</exception>
    public double TrainOnBatch(Tensor x, Tensor y)
    {
        if (Optimizer is null || Loss is null) throw new InvalidOperationException($"{Name}: call Compile(optimizer, loss) before TrainOnBatch.");
        if (!ReferenceEquals(_lastBatchX, x.Data) || !ReferenceEquals(_lastBatchY, y.Data))
        {
            x = CheckInputs(x, "inputs");
            y = AlignTargets(x, y, "targets");
            _lastBatchX = x.Data;
            _lastBatchY = y.Data;
            _lastBatch = (x, y);
        }
        else (x, y) = _lastBatch;
        int n = x.Shape[0];
        if (_batchIndex.Length != n)
        {
            _batchIndex = new int[n];
            for (int i = 0; i < n; i++) _batchIndex[i] = i;
        }
        EnsureTraining();
        if (_trainable is null || _trainableVersion != Parameter.TrainableVersion)
        {
            _trainableVersion = Parameter.TrainableVersion;
            _trainable = TrainableWeights;
        }
        return TrainStep(x, y, _batchIndex, 0, n, _trainable, 0, 0, null);
    }

    // TrainOnBatch caches: the validated views of the last batch (re-validated when new tensors come in).
    private TensorData? _lastBatchX, _lastBatchY;
    private (Tensor X, Tensor Y) _lastBatch;
    private int[] _batchIndex = [];
    private IReadOnlyList<Parameter>? _trainable;
    private int _trainableVersion;

    private void EnsureWorkers()
    {
        int threads = Math.Clamp(Threads, 1, Math.Max(1, Shards));
        if (_workers is null || _workers.Threads != threads)
        {
            _workers?.Dispose();
            _workers = new ShardWorkers(threads - 1, RunShard);
        }
    }

    private void EnsureTraining()
    {
        if (_tapes.Length != Shards)
        {
            _tapes = new Tape[Shards];
            _shardGrads = new Gradients[Shards];
            for (int i = 0; i < Shards; i++) _tapes[i] = new Tape();
        }
        EnsureWorkers();
        if (_step.ShardLoss.Length != Shards || _step.MetricSum.GetLength(1) != Metrics.Count)
        {
            _step.ShardLoss = new double[Shards];
            _step.MetricSum = new double[Shards, Metrics.Count];
            _step.MetricCount = new int[Shards, Metrics.Count];
        }
    }

    private double TrainStep(Tensor x, Tensor y, int[] index, int start, int count, IReadOnlyList<Parameter> trainable, int epoch, int batch, History? history)
    {
        var st = _step;
        st.X = x;
        st.Y = y;
        st.Index = index;
        st.BatchStart = start;
        st.BatchCount = count;
        st.ShardCount = Math.Min(Shards, count);
        _workers!.Run(st.ShardCount);
        double loss = 0;
        for (int s = 0; s < st.ShardCount; s++) loss += st.ShardLoss[s];
        Gradients g;
        if (st.ShardCount == 1) g = _shardGrads[0];
        else
        {
            _sum.Clear();
            for (int s = 0; s < st.ShardCount; s++) _sum.Add(_shardGrads[s], trainable);
            g = _sum;
        }
        if (!double.IsFinite(loss))
            throw Diverged($"loss is {loss}", epoch, batch, history);
        double norm = g.GlobalNorm(trainable);
        if (!double.IsFinite(norm))
            throw Diverged($"the gradient norm is {norm}", epoch, batch, history);
        Optimizer!.Step(trainable, g);
        return loss;
    }

    private TrainingDivergedException Diverged(string what, int epoch, int batch, History? history)
    {
        history ??= new History();
        history.StopReason = $"diverged at epoch {epoch + 1}, batch {batch + 1}";
        return new TrainingDivergedException(
            $"{Name}: training stopped at epoch {epoch + 1}, batch {batch + 1}: {what}. The weights are those from before this step; try a lower learning rate or clipping.",
            epoch + 1, batch + 1, history);
    }

    /// <summary>Forward and backward of one shard of the current batch on its own tape (runs on a worker thread).</summary>
    private void RunShard(int s)
    {
        var st = _step;
        if (st.Predicting)
        {
            PredictShard(s);
            return;
        }
        int count = st.BatchCount, shards = st.ShardCount;
        int lo = st.BatchStart + (int)((long)count * s / shards), hi = st.BatchStart + (int)((long)count * (s + 1) / shards);
        int rows = hi - lo;
        var tape = _tapes[s];
        tape.Reset();
        using (tape.Activate())
        {
            var xb = Gather(st.X, st.Index.AsSpan(lo, rows));
            var yb = Gather(st.Y, st.Index.AsSpan(lo, rows));
            var pred = Call(xb, training: true);
            var loss = Loss!.Compute(yb, pred);
            double weight = (double)rows / count;
            st.ShardLoss[s] = loss.Item() * weight;
            if (Metrics.Count > 0)
            {
                using (tape.NoGrad())
                    for (int m = 0; m < Metrics.Count; m++)
                    {
                        var (sum, c) = Metrics[m].Evaluate(yb, pred);
                        st.MetricSum[s, m] = sum;
                        st.MetricCount[s, m] = c;
                    }
            }
            _shardGrads[s] = tape.Backward(loss, Tensor.Full(Shape.Scalar, weight, DType));
        }
    }

    /// <summary>Rows <paramref name="rows"/> of <paramref name="src"/> into a new tensor on the active tape.</summary>
    private static Tensor Gather(Tensor src, ReadOnlySpan<int> rows)
    {
        var d = src.Data;
        var shape = d.Shape.With(0, rows.Length);
        var o = Tape.NewResult(shape, d.DType);
        if (d.DType == DType.Float32) GatherRows<float>(d.Span<float>(), o.Span<float>(), rows, d.Length / d.Shape[0]);
        else GatherRows<double>(d.Span<double>(), o.Span<double>(), rows, d.Length / d.Shape[0]);
        return new Tensor(o);
    }

    private static void GatherRows<T>(ReadOnlySpan<T> src, Span<T> dst, ReadOnlySpan<int> rows, int rowLen) where T : unmanaged
    {
        for (int i = 0; i < rows.Length; i++) src.Slice(rows[i] * rowLen, rowLen).CopyTo(dst.Slice(i * rowLen, rowLen));
    }

    /// <summary>
    /// Rows [start, start + count) of <paramref name="src"/> as a view on the active tape (no copy: ops never write their
    /// inputs, and the view is recycled with the tape while <paramref name="src"/> outlives it).
    /// </summary>
    private static Tensor Range(Tensor src, int start, int count)
    {
        var d = src.Data;
        if (start == 0 && count == d.Shape[0]) return src;
        var shape = d.Shape.With(0, count);
        int rowLen = d.Length / d.Shape[0];
        var tape = Tape.Current;
        if (tape is not null) return new Tensor(tape.NewView(d, shape, start * rowLen));
        var o = Tape.NewResult(shape, d.DType);
        if (d.DType == DType.Float32) d.Span<float>().Slice(start * rowLen, count * rowLen).CopyTo(o.Span<float>());
        else d.Span<double>().Slice(start * rowLen, count * rowLen).CopyTo(o.Span<double>());
        return new Tensor(o);
    }

    // ------------------------------------------------------------------ inference

    /// <summary>Loss and metrics on (x, y), averaged over samples as Keras does (batch-size-weighted means).</summary>
    /// <exception cref="InvalidOperationException">Not compiled.</exception>
    /// <exception cref="ArgumentException">Bad data.</exception>
    public Dictionary<string, double> Evaluate(Tensor x, Tensor y, int batchSize = 32)
    {
        if (Loss is null) throw new InvalidOperationException($"{Name}: call Compile before Evaluate.");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        x = CheckInputs(x, "inputs");
        y = AlignTargets(x, y, "targets");
        return EvaluateCore(x, y, batchSize);
    }

    private Dictionary<string, double> EvaluateCore(Tensor x, Tensor y, int batchSize)
    {
        _evalTape ??= new Tape();
        int n = x.Shape[0];
        double lossTotal = 0;
        var mSum = new double[Metrics.Count];
        var mCount = new long[Metrics.Count];
        for (int start = 0; start < n; start += batchSize)
        {
            int count = Math.Min(batchSize, n - start);
            _evalTape.Reset();
            using (_evalTape.Activate())
            using (_evalTape.NoGrad())
            {
                var xb = Range(x, start, count);
                var yb = Range(y, start, count);
                var pred = Call(xb, training: false);
                lossTotal += Loss!.Compute(yb, pred).Item() * count;
                for (int m = 0; m < Metrics.Count; m++)
                {
                    var (s, c) = Metrics[m].Evaluate(yb, pred);
                    mSum[m] += s;
                    mCount[m] += c;
                }
            }
        }
        _evalTape.Reset();
        var r = new Dictionary<string, double> { ["loss"] = lossTotal / n };
        for (int m = 0; m < Metrics.Count; m++) r[Metrics[m].Name] = mSum[m] / mCount[m];
        return r;
    }

    /// <summary>
    /// Predictions for (samples, ...) inputs in batches, recording nothing. Sequences of any length are accepted by
    /// recurrent and causal models.
    /// <para>
    /// Non-finite inputs: when a prediction comes out non-finite, the inputs are scanned and the first NaN or infinity
    /// is reported with its sample (<see cref="ArgumentException"/>). Checking the predictions rather than every input
    /// value keeps a second pass over the data out of every call; a non-finite input whose prediction is still finite
    /// (tanh(inf) = 1) is accepted, as Keras accepts it.
    /// </para>
    /// </summary>
    /// <returns>A heap tensor (samples, ...output).</returns>
    /// <exception cref="ArgumentException">Bad input shape, or a non-finite input that made a prediction non-finite.</exception>
    public Tensor Predict(Tensor x, int batchSize = 32)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        x = CheckInputs(x, "inputs", checkFinite: false);
        int n = x.Shape[0];
        var (outShape, perSample) = PredictPlan(x);
        // every element is written by a shard
        var result = new Tensor(TensorData.AllocateUninitialized(outShape.Insert(0, n), DType));
        EnsureWorkers();
        int threads = _workers!.Threads;
        if (_inferTapes.Length < threads)
        {
            _inferTapes = new Tape[threads];
            for (int i = 0; i < threads; i++) _inferTapes[i] = new Tape();
        }
        var st = _step;
        st.Predicting = true;
        st.X = x;
        st.Result = result;
        try
        {
            for (int start = 0; start < n; start += batchSize)
            {
                int count = Math.Min(batchSize, n - start);
                st.BatchStart = start;
                st.BatchCount = count;
                // Split a batch over the threads only when each part keeps enough rows and enough work to be worth
                // a hand-off (waking a worker costs about as much as a few microseconds of arithmetic). Rows are
                // independent, so the split never changes the results.
                long work = count * perSample;
                st.ShardCount = (int)Math.Clamp(Math.Min(count / 8, work / MinPredictWorkPerShard), 1, threads);
                _workers.Run(st.ShardCount);
            }
        }
        finally
        {
            st.Predicting = false;
            st.Result = default;
            st.X = default;   // do not keep the caller's input (possibly their own array) alive
            foreach (var t in _inferTapes) t.Reset();
        }
        bool finite = DType == DType.Float32 ? Kernels.ReductionKernels.AllFinite<float>(result.AsSpan<float>())
                                             : Kernels.ReductionKernels.AllFinite<double>(result.AsSpan<double>());
        if (!finite) CheckFinite(x, "inputs");
        return result;
    }

    private Shape _planInput;
    private Shape _planOutput;
    private long _planWork;
    private int _planLayers = -1;

    /// <summary>
    /// The per-sample output shape and arithmetic estimate for inputs shaped like <paramref name="x"/>, cached for the
    /// last input shape (one-series Predict calls in a loop pay for the shape walk once).
    /// </summary>
    private (Shape PerSampleOutput, long Work) PredictPlan(Tensor x)
    {
        var inShape = x.Shape.Remove(0);
        if (_planLayers == _layers.Count && inShape == _planInput) return (_planOutput, _planWork);
        var shape = DataShape(x);
        long perSample = 0;
        foreach (var l in _layers)
        {
            var outShape = l.ComputeOutputShape(shape);
            perSample += WorkPerSample(l, shape, outShape);
            shape = outShape;
        }
        _planOutput = new Shape(shape.Select(d => d ?? throw new InvalidOperationException($"{Name}: output length unknown.")).ToArray());
        _planInput = inShape;
        _planWork = perSample;
        _planLayers = _layers.Count;
        return (_planOutput, _planWork);
    }

    /// <summary>Rough arithmetic per sample below which a Predict shard is not worth a thread hand-off (about 20 µs).</summary>
    private const long MinPredictWorkPerShard = 1_000_000;

    /// <summary>
    /// A rough count of the arithmetic one sample costs in a layer: 2 x parameters per position the layer is applied at
    /// (every step for a recurrent, convolutional or time-distributed layer on a sequence), plus ~16 per output
    /// feature per position (activations); a layer without weights costs 2 per output value.
    /// </summary>
    private static long WorkPerSample(Layer layer, int?[] input, int?[] output)
    {
        long outElems = 1;
        foreach (var d in output) outElems *= d ?? 1;
        int pars = layer.CountParams();
        if (pars == 0) return 2 * outElems;
        long positions = input.Length >= 2 ? input[0] ?? 1 : 1;
        long features = output.Length > 0 ? output[^1] ?? 1 : 1;
        return positions * (2L * pars + 16 * features);
    }

    /// <summary>Inference on rows [lo, hi) of the current Predict chunk, on its own tape (runs on a worker thread).</summary>
    private void PredictShard(int s)
    {
        var st = _step;
        int count = st.BatchCount, shards = st.ShardCount;
        int lo = st.BatchStart + (int)((long)count * s / shards), hi = st.BatchStart + (int)((long)count * (s + 1) / shards);
        var tape = _inferTapes[s];
        tape.Reset();
        using (tape.Activate())
        using (tape.NoGrad())
        {
            var pred = Call(Range(st.X, lo, hi - lo), training: false);
            int rowLen = pred.Size / (hi - lo);
            if (DType == DType.Float32) pred.AsSpan<float>().CopyTo(st.Result.Data.Span<float>().Slice(lo * rowLen));
            else pred.AsSpan<double>().CopyTo(st.Result.Data.Span<double>().Slice(lo * rowLen));
        }
    }

    private Tape[] _inferTapes = [];

    // ------------------------------------------------------------------ checkpoint support (issue #6; see Saving/ModelIO)

    /// <summary>
    /// The state of the generator that shuffles the training samples each epoch (seeded with <see cref="Seed"/> + 1 by the
    /// first <see cref="Fit"/>), or null before that. Checkpoints save and restore it, so that training resumed with
    /// <c>initialEpoch</c> shuffles exactly as an uninterrupted run would. Setting null makes the next Fit start from the seed.
    /// </summary>
    public MT19937State? ShuffleRngState
    {
        get => _shuffleRng?.GetState();
        set => _shuffleRng = value is null ? null : new NumPyRandomState(value);
    }

    // ------------------------------------------------------------------ end of checkpoint support


    /// <summary>Predictions for a flat float input of shape (samples, steps, features) etc.</summary>
    /// <remarks><paramref name="x"/> is read, never written, and not copied; the returned array is the prediction's own.</remarks>
    public float[] Predict(float[] x, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(shape);
        var s = new Shape(shape);
        if (x.Length != s.Size)
            throw new ShapeMismatchException($"{Name}: {x.Length} input values cannot have shape {s} ({s.Size} elements).", nameof(x));
        var d = Predict(new Tensor(TensorData.Wrap(x, s))).Data;
        // a fresh heap tensor nobody else holds: hand its array over instead of copying it
        return d.DType == DType.Float32 && d.Offset == 0 && d.F!.Length == d.Length ? d.F : new Tensor(d).ToFloatArray();
    }

    // ------------------------------------------------------------------ summary

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
