using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using System.Text;
using Rnnx.Data;
using Rnnx.Layers;
using Rnnx.Losses;
using Rnnx.Metrics;
using Rnnx.Optimization;
using Rnnx.Random;

namespace Rnnx.Models;

public partial class Model
{
    /// <summary>
    /// Values the forward pass of a training shard must hold (float and double elements) before its backward pass gives
    /// intermediate values back as it goes (<see cref="Tape.ReleaseIntermediateValues"/>): below about 1 M values
    /// (4 MB) the memory saved is small and the per-op bookkeeping measurably slows models of many small ops (the
    /// chapter's layer-normalized RNN: 8–14 %). The gradients are the same either way.
    /// </summary>
    internal long ValueReleaseThreshold { get; set; } = 1 << 20;

    private sealed class StepState
    {
        /// <summary>One (samples, ...) tensor per model input and per model output.</summary>
        public Tensor[] X = [], Y = [];
        /// <summary>Per output: the per-sample loss weights (samples, ...) for this Fit, or an invalid tensor for none; empty for no weights at all.</summary>
        public Tensor[] W = [];
        public SeriesWindows? Windows;
        public int[] Index = [];
        public int BatchStart, BatchCount;
        public int ShardCount;
        public double[] ShardLoss = [];
        /// <summary>Per shard: each output's loss, and each (output, metric)'s weighted sum and count.</summary>
        public double[][] OutputLoss = [], MetricSum = [], MetricCount = [];
        /// <summary>Per shard: the batch's inputs, targets, predictions and output masks (reused, so a step allocates no arrays).</summary>
        public Tensor[][] ShardX = [], ShardY = [], ShardPred = [];
        public Tensor?[][] ShardMask = [], ShardWeight = [];
        /// <summary>Per shard and output: the unmasked count and size of the output's mask (0 without a mask); then the batch's sums.</summary>
        public double[][] ShardValid = [], ShardTotal = [];
        public double[] BatchValid = [], BatchTotal = [];
        /// <summary>Whether an output of this step has a mask (the loss and backward then run after every shard's forward).</summary>
        public bool Masked;
        /// <summary>The step's trainable parameters.</summary>
        public IReadOnlyList<Parameter> Trainable = [];
        /// <summary>
        /// Per shard, with an optimizer that sums the shard gradients itself: whether every value of the shard's gradient
        /// is float32 and small enough that the sum over the shards is finite (checked on the shard's thread).
        /// </summary>
        public bool[] ShardBounded = [];
        public bool CheckBounds;
        public (int Shards, int Inputs, int Outputs, int Metrics) Layout;
    }

    private readonly StepState _step = new();
    private Action<int>? _runShard, _runShardBackward;

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
    /// <param name="sampleWeight">
    /// Optional weights (samples,) or (samples, steps...) matching the leading axes of the loss's per-sample values (Keras
    /// <c>sample_weight</c>): the batch loss becomes Σ w·loss / (number of values), Keras's <c>sum_over_batch_size</c>,
    /// and the training metrics weighted means Σ w·v / Σ w. Needs a loss that gives per-sample values.
    /// </param>
    /// <param name="classWeight">
    /// Optional weight per class (Keras <c>class_weight</c>), turned into sample weights from the targets as Keras does:
    /// the arg-max of one-hot targets, else the rounded class index or 0/1 label; classes not listed weigh 1. Not
    /// together with <paramref name="sampleWeight"/>.
    /// </param>
    /// <returns>Per-epoch loss, metrics and validation values.</returns>
    /// <exception cref="InvalidOperationException">Not compiled, or another call (Predict, Evaluate, another Fit, ...) runs on this model on another thread.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="epochs"/> or <paramref name="batchSize"/> is not positive, or <paramref name="initialEpoch"/> is negative (the parameter is named).</exception>
    /// <exception cref="ArgumentException">Bad data (shapes, sample counts, non-finite values), before any training.</exception>
    /// <exception cref="TrainingDivergedException">A non-finite loss or gradient; the weights are those before that step.</exception>
    public History Fit(Tensor x, Tensor y, int epochs = 1, int batchSize = 32, bool shuffle = true,
        (Tensor X, Tensor Y)? validationData = null, IEnumerable<Callback>? callbacks = null, int verbose = 1, int initialEpoch = 0,
        Tensor? sampleWeight = null, IReadOnlyDictionary<int, double>? classWeight = null)
    {
        CheckFitArguments(epochs, batchSize, initialEpoch);
        using var mutation = _access.Mutate(nameof(Fit));
        x = CheckInputs(x, "inputs");
        y = AlignTargets(x, y, "targets");
        var weights = SampleWeights(x, y, sampleWeight, classWeight);
        CheckStatefulData(nameof(Fit), x.Shape[0], batchSize, shuffle);
        Func<Dictionary<string, double>>? validate = null;
        if (validationData is { } vd)
        {
            var vx = CheckInputs(vd.X, "validation inputs");
            CheckStatefulData("validation during Fit", vx.Shape[0], batchSize);
            var vy = AlignTargets(vx, vd.Y, "validation targets");
            validate = () => EvaluateCore([vx], [vy], batchSize, _workers);
        }
        return FitCore(x.Shape[0], [x], [y], [weights], null, epochs, batchSize, shuffle, validate, callbacks, verbose, initialEpoch);
    }

    /// <summary>
    /// Trains on forecasting windows cut from a series batch by batch (nothing is materialized: memory grows with the
    /// series, not with series × window). Gives exactly the results of <see cref="Fit(Tensor, Tensor, int, int, bool, ValueTuple{Tensor, Tensor}?, IEnumerable{Callback}?, int, int, Tensor?, IReadOnlyDictionary{int, double}?)"/>
    /// on <see cref="SeriesWindows.Materialize"/>'s arrays: the same shuffles, batches and bits.
    /// </summary>
    /// <param name="train">The training windows.</param>
    /// <param name="epochs">Number of epochs.</param>
    /// <param name="batchSize">Batch size.</param>
    /// <param name="shuffle">Shuffle each epoch.</param>
    /// <param name="validationData">Optional windows evaluated after each epoch.</param>
    /// <param name="callbacks">Optional callbacks.</param>
    /// <param name="verbose">0 silent, 1 one line per epoch on the console.</param>
    /// <param name="initialEpoch">Epoch to start from (for resuming).</param>
    /// <returns>Per-epoch loss, metrics and validation values.</returns>
    /// <exception cref="InvalidOperationException">Not compiled.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="epochs"/> or <paramref name="batchSize"/> is not positive, or <paramref name="initialEpoch"/> is negative.</exception>
    /// <exception cref="ShapeMismatchException">The model does not take (window, 1) inputs or give horizon outputs.</exception>
    /// <exception cref="TrainingDivergedException">A non-finite loss or gradient; the weights are those before that step.</exception>
    public History Fit(SeriesWindows train, int epochs = 1, int batchSize = 32, bool shuffle = true,
        SeriesWindows? validationData = null, IEnumerable<Callback>? callbacks = null, int verbose = 1, int initialEpoch = 0)
    {
        ArgumentNullException.ThrowIfNull(train);
        CheckFitArguments(epochs, batchSize, initialEpoch);
        using var mutation = _access.Mutate(nameof(Fit));
        var trainTargetShape = CheckWindows(train, "training windows");
        CheckStatefulData(nameof(Fit), train.Count, batchSize, shuffle);
        Func<Dictionary<string, double>>? validate = null;
        if (validationData is not null)
        {
            CheckStatefulData("validation during Fit", validationData.Count, batchSize);
            var validationTargetShape = CheckWindows(validationData, "validation windows");
            validate = () => EvaluateWindows(validationData, batchSize, validationTargetShape, _workers);
        }
        _windowTargetShape = trainTargetShape;
        return FitCore(train.Count, [], [], [], train, epochs, batchSize, shuffle, validate, callbacks, verbose, initialEpoch);
    }

    private void CheckFitArguments(int epochs, int batchSize, int initialEpoch)
    {
        if (Optimizer is null || Loss is null) throw new InvalidOperationException($"{Name}: call Compile(optimizer, loss) before Fit.");
        if (epochs <= 0) throw new ArgumentOutOfRangeException(nameof(epochs), epochs, $"{Name}: epochs must be at least 1 (it is the index of the last epoch to run), got {epochs}.");
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, $"{Name}: batchSize must be at least 1, got {batchSize}.");
        if (initialEpoch < 0) throw new ArgumentOutOfRangeException(nameof(initialEpoch), initialEpoch, $"{Name}: initialEpoch must not be negative, got {initialEpoch}.");
        if (Shards < 1) throw new InvalidOperationException($"{Name}: Shards must be at least 1.");
    }

    /// <summary>
    /// Trains a model with several inputs or outputs (Keras's <c>fit</c> with lists): one (samples, ...) tensor per input in
    /// <see cref="Inputs"/> order and one target per output in <see cref="Outputs"/> order, all with the same sample
    /// count. The loss is the sum over outputs of the compiled loss on each output; History holds <c>loss</c>,
    /// <c>&lt;output&gt;_loss</c> and <c>&lt;output&gt;_&lt;metric&gt;</c> (and <c>val_</c> ones), as Keras names them.
    /// Shuffles and shard cuts apply the same permutation to every input and target.
    /// </summary>
    /// <param name="x">One tensor per model input.</param>
    /// <param name="y">One target per model output.</param>
    /// <param name="epochs">Number of epochs.</param>
    /// <param name="batchSize">Batch size.</param>
    /// <param name="shuffle">Shuffle each epoch.</param>
    /// <param name="validationData">Optional (inputs, targets) lists evaluated after each epoch.</param>
    /// <param name="callbacks">Optional callbacks.</param>
    /// <param name="verbose">0 silent, 1 one line per epoch on the console.</param>
    /// <param name="initialEpoch">Epoch to start from (for resuming).</param>
    /// <param name="sampleWeight">
    /// Optional per-sample loss weights (Keras <c>sample_weight</c> as a list): one tensor per output in
    /// <see cref="Outputs"/> order (null for an unweighted output), or a single tensor used for every output, as
    /// keras/src/trainers/compile_utils.py repeats it. Each is checked against its output's targets as in
    /// <see cref="Fit(Tensor, Tensor, int, int, bool, ValueTuple{Tensor, Tensor}?, IEnumerable{Callback}?, int, int, Tensor?, IReadOnlyDictionary{int, double}?)"/>.
    /// </param>
    /// <param name="classWeight">
    /// Optional weight per class (Keras <c>class_weight</c>); only for a model with a single output, as Keras 3
    /// (keras/src/trainers/data_adapters/tf_dataset_adapter.py: "`class_weight` is only supported for Models with a
    /// single output"). Not together with <paramref name="sampleWeight"/>.
    /// </param>
    /// <returns>Per-epoch loss, metrics and validation values.</returns>
    /// <exception cref="InvalidOperationException">Not compiled, or another call runs on this model on another thread.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="epochs"/> or <paramref name="batchSize"/> is not positive, or <paramref name="initialEpoch"/> is negative.</exception>
    /// <exception cref="ArgumentException">The wrong number of tensors, different sample counts, or shapes that do not fit (the input or output is named); class weights with several outputs.</exception>
    /// <exception cref="TrainingDivergedException">A non-finite loss or gradient; the weights are those before that step.</exception>
    public History Fit(IReadOnlyList<Tensor> x, IReadOnlyList<Tensor> y, int epochs = 1, int batchSize = 32, bool shuffle = true,
        (IReadOnlyList<Tensor> X, IReadOnlyList<Tensor> Y)? validationData = null, IEnumerable<Callback>? callbacks = null, int verbose = 1, int initialEpoch = 0,
        IReadOnlyList<Tensor?>? sampleWeight = null, IReadOnlyDictionary<int, double>? classWeight = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        CheckFitArguments(epochs, batchSize, initialEpoch);
        using var mutation = _access.Mutate(nameof(Fit));
        var (xs, ys) = CheckData(x, y, "inputs", "targets");
        var weights = OutputSampleWeights(xs[0], ys, sampleWeight, classWeight);
        int n = xs[0].Shape[0];
        CheckStatefulData(nameof(Fit), n, batchSize, shuffle);
        Func<Dictionary<string, double>>? validate = null;
        if (validationData is { } vd)
        {
            ArgumentNullException.ThrowIfNull(vd.X, nameof(validationData));
            ArgumentNullException.ThrowIfNull(vd.Y, nameof(validationData));
            var (vx, vy) = CheckData(vd.X, vd.Y, "validation inputs", "validation targets");
            CheckStatefulData("validation during Fit", vx[0].Shape[0], batchSize);
            validate = () => EvaluateCore(vx, vy, batchSize, _workers);
        }
        return FitCore(n, xs, ys, weights, null, epochs, batchSize, shuffle, validate, callbacks, verbose, initialEpoch);
    }

    private History FitCore(int n, Tensor[] x, Tensor[] y, Tensor[] weights, SeriesWindows? windows, int epochs, int batchSize, bool shuffle,
        Func<Dictionary<string, double>>? validate, IEnumerable<Callback>? callbacks, int verbose, int initialEpoch)
    {
        var cbs = (callbacks ?? []).ToList();
        if (verbose > 0) cbs.Add(new EpochLogger());
        foreach (var c in cbs) c.Model = this;

        int steps = (n + batchSize - 1) / batchSize;
        var history = new History();
        var trainable = TrainableWeights;
        using var workers = new WorkersLease(this);
        EnsureTraining();
        _shuffleRng ??= new NumPyRandomState(unchecked((uint)Seed + 1));
        var index = new int[n];
        var logs = new Dictionary<string, double>();
        int outputs = _graph!.OutputSlots.Length;
        var metricKeys = MetricKeys();
        var lossKeys = OutputLossKeys();
        StopTraining = false;
        foreach (var c in cbs) c.OnTrainBegin(new TrainingInfo(epochs, steps, n, validate is not null));
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
                var oSum = new double[outputs];
                var mSum = new double[metricKeys.Length];
                var mCount = new double[metricKeys.Length];
                for (int b = 0; b < steps; b++)
                {
                    int start = b * batchSize, count = Math.Min(batchSize, n - start);
                    double loss = TrainStep(x, y, weights, windows, index, start, count, trainable, epoch, b, history);
                    lossTotal += loss * count;
                    lossCount += count;
                    for (int s = 0; s < _step.ShardCount; s++)
                    {
                        for (int o = 0; o < outputs; o++) oSum[o] += _step.OutputLoss[s][o] * count;
                        for (int m = 0; m < metricKeys.Length; m++)
                        {
                            mSum[m] += _step.MetricSum[s][m];
                            mCount[m] += _step.MetricCount[s][m];
                        }
                    }
                    if (cbs.Count > 0)
                    {
                        logs.Clear();
                        WriteLogs(logs, lossTotal / lossCount, lossKeys, oSum, lossCount, metricKeys, mSum, mCount);
                        foreach (var c in cbs) c.OnBatchEnd(epoch, b, logs);
                    }
                }
                var epochLogs = new Dictionary<string, double>();
                WriteLogs(epochLogs, lossTotal / lossCount, lossKeys, oSum, lossCount, metricKeys, mSum, mCount);
                double trainSeconds = sw.Elapsed.TotalSeconds;
                if (validate is not null)
                {
                    var v = validate();
                    foreach (var (k, val) in v) epochLogs["val_" + k] = val;
                }
                sw.Stop();
                history.Append(epochLogs, sw.Elapsed.TotalSeconds, trainSeconds);
                foreach (var c in cbs) c.OnEpochEnd(epoch, epochLogs, sw.Elapsed.TotalSeconds);
            }
            if (StopTraining && history.StopReason is null) history.StopReason = "stopped by a callback";
        }
        // With a TerminateOnNaN callback a divergence ends training normally (weights from before the bad step).
        catch (TrainingDivergedException e) when (TerminateOnNaN.Handles(cbs, e))
        {
            StopTraining = true;
        }
        finally
        {
            foreach (var t in _tapes) t.Reset();
            _step.Windows = null;   // do not keep the caller's series alive
        }
        foreach (var c in cbs) c.OnTrainEnd(history);
        return history;
    }

    /// <summary>
    /// One optimizer step on one batch (Keras's <c>train_on_batch</c>): forward, batch-mean loss, backward, update.
    /// Allocates nothing after the first call with the same batch size.
    /// </summary>
    /// <returns>The batch loss before the update.</returns>
    /// <exception cref="InvalidOperationException">Not compiled, or another call (Predict, Evaluate, Fit, ...) runs on this model on another thread.</exception>
    /// <exception cref="ArgumentException">Bad data.</exception>
    /// <exception cref="TrainingDivergedException">A non-finite loss or gradient; the weights are left unchanged.</exception>
    public double TrainOnBatch(Tensor x, Tensor y) =>
        TrainOnBatchCore(new ReadOnlySpan<Tensor>(in x), new ReadOnlySpan<Tensor>(in y), single: true);

    /// <summary>
    /// One optimizer step on one batch of a model with several inputs or outputs: one tensor per input and one target
    /// per output (the summed loss, as <see cref="Fit(IReadOnlyList{Tensor}, IReadOnlyList{Tensor}, int, int, bool, ValueTuple{IReadOnlyList{Tensor}, IReadOnlyList{Tensor}}?, IEnumerable{Callback}?, int, int, IReadOnlyList{Tensor?}?, IReadOnlyDictionary{int, double}?)"/>).
    /// Allocates nothing after the first call with the same tensors.
    /// </summary>
    /// <returns>The batch loss (summed over outputs) before the update.</returns>
    /// <exception cref="InvalidOperationException">Not compiled, or another call runs on this model on another thread.</exception>
    /// <exception cref="ArgumentException">The wrong number of tensors, different sample counts, or shapes that do not fit.</exception>
    /// <exception cref="TrainingDivergedException">A non-finite loss or gradient; the weights are left unchanged.</exception>
    public double TrainOnBatch(IReadOnlyList<Tensor> x, IReadOnlyList<Tensor> y)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        return TrainOnBatchCore(x as Tensor[] ?? x.ToArray(), y as Tensor[] ?? y.ToArray(), single: false);
    }

    private double TrainOnBatchCore(ReadOnlySpan<Tensor> givenX, ReadOnlySpan<Tensor> givenY, bool single)
    {
        if (Optimizer is null || Loss is null) throw new InvalidOperationException($"{Name}: call Compile(optimizer, loss) before TrainOnBatch.");
        using var mutation = _access.Mutate(nameof(TrainOnBatch));
        if (!SameTensors(_lastGiven.X, givenX) || !SameTensors(_lastGiven.Y, givenY))
        {
            var given = (givenX.ToArray(), givenY.ToArray());
            if (single)
            {
                var cx = CheckInputs(givenX[0], "inputs");
                _lastBatch = ([cx], [AlignTargets(cx, givenY[0], "targets")]);
            }
            else _lastBatch = CheckData(given.Item1, given.Item2, "inputs", "targets");
            _lastGiven = given;
        }
        var (x, y) = _lastBatch;
        int n = x[0].Shape[0];
        if (_batchIndex.Length != n)
        {
            _batchIndex = new int[n];
            for (int i = 0; i < n; i++) _batchIndex[i] = i;
        }
        using var workers = new WorkersLease(this);
        EnsureTraining();
        if (_trainable is null || _trainableVersion != Parameter.TrainableVersion)
        {
            _trainableVersion = Parameter.TrainableVersion;
            _trainable = TrainableWeights;
        }
        return TrainStep(x, y, [], null, _batchIndex, 0, n, _trainable, 0, 0, null);
    }

    // TrainOnBatch caches: the validated views of the last batch (re-validated when new tensors come in), and the tensors
    // as given, which the validated ones differ from when targets are reshaped (a trailing 1 squeezed or added).
    private (Tensor[] X, Tensor[] Y) _lastBatch = ([], []), _lastGiven = ([], []);

    private static bool SameTensors(Tensor[] cached, ReadOnlySpan<Tensor> given)
    {
        if (cached.Length != given.Length) return false;
        for (int i = 0; i < given.Length; i++) if (!cached[i].IsSameTensor(given[i])) return false;
        return true;
    }
    private int[] _batchIndex = [];
    private IReadOnlyList<Parameter>? _trainable;
    private int _trainableVersion;

    /// <summary>
    /// The shard threads for the duration of a training call. Training holds the model's mutation guard, so no
    /// Predict of another thread can hold them; a Predict from a callback on the training thread runs its shards itself.
    /// </summary>
    private readonly ref struct WorkersLease
    {
        private readonly Model _model;

        public WorkersLease(Model model)
        {
            _model = model;
            Workers = model.TryAcquireWorkers(model.ThreadsUsed)
                ?? throw new InvalidOperationException($"{model.Name}: the shard threads are in use by a prediction.");
        }

        public ShardWorkers Workers { get; }

        public void Dispose() => _model.ReleaseWorkers();
    }

    private void EnsureTraining()
    {
        if (_tapes.Length != Shards)
        {
            _tapes = new Tape[Shards];
            _shardGrads = new Gradients[Shards];
            for (int i = 0; i < Shards; i++) _tapes[i] = new Tape();
        }
        var layout = (Shards, _graph!.InputCount, _graph.OutputSlots.Length, MetricCount());
        if (_step.Layout != layout)
        {
            var (shards, inputs, outputs, metrics) = layout;
            _step.Layout = layout;
            _step.ShardLoss = new double[shards];
            _step.ShardBounded = new bool[shards];
            _step.OutputLoss = Jagged<double>(shards, outputs);
            _step.MetricSum = Jagged<double>(shards, metrics);
            _step.MetricCount = Jagged<double>(shards, metrics);
            _step.ShardX = Jagged<Tensor>(shards, inputs);
            _step.ShardY = Jagged<Tensor>(shards, outputs);
            _step.ShardPred = Jagged<Tensor>(shards, outputs);
            _step.ShardMask = Jagged<Tensor?>(shards, outputs);
            _step.ShardWeight = Jagged<Tensor?>(shards, outputs);
            _step.ShardValid = Jagged<double>(shards, outputs);
            _step.ShardTotal = Jagged<double>(shards, outputs);
            _step.BatchValid = new double[outputs];
            _step.BatchTotal = new double[outputs];
        }
    }

    private static T[][] Jagged<T>(int rows, int columns)
    {
        var a = new T[rows][];
        for (int i = 0; i < rows; i++) a[i] = new T[columns];
        return a;
    }

    private double TrainStep(Tensor[] x, Tensor[] y, Tensor[] weights, SeriesWindows? windows, int[] index, int start, int count, IReadOnlyList<Parameter> trainable, int epoch, int batch, History? history)
    {
        var st = _step;
        st.X = x;
        st.Y = y;
        st.W = weights;
        st.Windows = windows;
        st.Index = index;
        st.BatchStart = start;
        st.BatchCount = count;
        st.ShardCount = Math.Min(Shards, count);
        st.Trainable = trainable;
        st.CheckBounds = Optimizer is IParallelOptimizer;
        _workers!.Run(st.ShardCount, _runShard ??= RunShard);
        // Masks are structural (every shard has the same outputs masked), so shard 0 tells.
        st.Masked = false;
        foreach (var m in st.ShardMask[0]) st.Masked |= m is not null;
        // A masked output's loss divides by the whole batch's unmasked count (Keras), known only once every shard has
        // run forward; the shards then compute their loss and backward against it.
        if (st.Masked)
        {
            Array.Clear(st.BatchValid);
            Array.Clear(st.BatchTotal);
            for (int s = 0; s < st.ShardCount; s++)
                for (int o = 0; o < st.BatchValid.Length; o++)
                {
                    st.BatchValid[o] += st.ShardValid[s][o];
                    st.BatchTotal[o] += st.ShardTotal[s][o];
                }
            _workers.Run(st.ShardCount, _runShardBackward ??= RunShardBackward);
        }
        double loss = 0;
        bool bounded = st.CheckBounds;
        for (int s = 0; s < st.ShardCount; s++)
        {
            loss += st.ShardLoss[s];
            bounded &= st.ShardBounded[s];
        }
        if (!double.IsFinite(loss))
            throw Diverged($"loss is {loss}", epoch, batch, history);
        // Shard gradients bounded so that their sum is finite: the optimizer sums them itself, on the shard threads.
        if (bounded)
        {
            ((IParallelOptimizer)Optimizer!).Step(trainable, _shardGrads.AsSpan(0, st.ShardCount), _workers);
            return loss;
        }
        Gradients g;
        if (st.ShardCount == 1) g = _shardGrads[0];
        else
        {
            _sum.Clear();
            for (int s = 0; s < st.ShardCount; s++) _sum.Add(_shardGrads[s], trainable);
            g = _sum;
        }
        if (!g.HasFiniteNorm(trainable))
            throw Diverged($"the gradient norm is {g.GlobalNorm(trainable)}", epoch, batch, history);
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
        int count = st.BatchCount, shards = st.ShardCount;
        int lo = st.BatchStart + (int)((long)count * s / shards), hi = st.BatchStart + (int)((long)count * (s + 1) / shards);
        int rows = hi - lo;
        var tape = _tapes[s];
        tape.Reset();
        // Random layers draw from (seed, step, row): the same noise whatever the shard and thread counts.
        using var noise = TrainingContext.Enter(new TrainingContext(Seed, Optimizer!.Iterations, lo));
        using (tape.Activate())
        using (StatefulBatch.Enter(lo - st.BatchStart, count))
        {
            var (xb, yb, pred, masks) = (st.ShardX[s], st.ShardY[s], st.ShardPred[s], st.ShardMask[s]);
            var shardRows = st.Index.AsSpan(lo, rows);
            if (st.Windows is { } w) (xb[0], yb[0]) = GatherWindows(w, shardRows, _windowTargetShape);
            else
            {
                for (int i = 0; i < xb.Length; i++) xb[i] = Gather(st.X[i], shardRows);
                for (int o = 0; o < yb.Length; o++) yb[o] = Gather(st.Y[o], shardRows);
            }
            RunGraph(xb, pred, masks, training: true);
            bool masked = false;
            using (tape.NoGrad())
                for (int o = 0; o < masks.Length; o++)
                {
                    masked |= masks[o] is not null;
                    st.ShardValid[s][o] = masks[o] is Tensor m ? Tensor.Sum(m).Item() : 0;
                    st.ShardTotal[s][o] = masks[o] is Tensor mt ? mt.Size : 0;
                }
            if (!masked) LossAndBackward(s, default, default);
        }
    }

    /// <summary>The loss, metrics and backward of shard <paramref name="s"/> of a masked step, after every shard's forward.</summary>
    private void RunShardBackward(int s)
    {
        using (_tapes[s].Activate()) LossAndBackward(s, _step.BatchValid, _step.BatchTotal);
    }

    /// <summary>
    /// Loss, metrics and backward of shard <paramref name="s"/> on its active tape; masked outputs divide by
    /// <paramref name="batchValid"/> (the batch's unmasked count per output; empty for none).
    /// </summary>
    private void LossAndBackward(int s, ReadOnlySpan<double> batchValid, ReadOnlySpan<double> batchTotal)
    {
        var st = _step;
        var tape = _tapes[s];
        int count = st.BatchCount, shards = st.ShardCount;
        int lo = st.BatchStart + (int)((long)count * s / shards), hi = st.BatchStart + (int)((long)count * (s + 1) / shards);
        int rows = hi - lo;
        var (yb, pred, masks) = (st.ShardY[s], st.ShardPred[s], st.ShardMask[s]);
        var sw = st.ShardWeight[s];
        for (int o = 0; o < sw.Length; o++)
            sw[o] = o < st.W.Length && st.W[o].IsValid ? Gather(st.W[o], st.Index.AsSpan(lo, rows)) : null;
        var loss = SummedLoss(yb, pred, sw, masks, st.OutputLoss[s], batchValid, batchTotal);
        double weight = (double)rows / count;
        st.ShardLoss[s] = loss.Item() * weight;
        for (int o = 0; o < pred.Length; o++) st.OutputLoss[s][o] *= weight;
        Array.Clear(st.MetricSum[s]);
        Array.Clear(st.MetricCount[s]);
        if (st.MetricSum[s].Length > 0)
            using (tape.NoGrad())
                AddMetrics(yb, pred, sw, masks, st.MetricSum[s], st.MetricCount[s]);
        tape.ReleaseIntermediateGradients = true;   // the step reads the parameters' gradients only, and no value after
        // the backward pass; giving values back costs bookkeeping per op, worth it only when the forward holds much
        var (f32, f64) = tape.PoolInUse;
        tape.ReleaseIntermediateValues = f32 + f64 > ValueReleaseThreshold;
        _shardGrads[s] = tape.Backward(loss, Tensor.Full(Shape.Scalar, weight, DType));
        st.ShardBounded[s] = st.CheckBounds && shards <= Gradients.MaxSummedStores && _shardGrads[s].Float32SummableOver(st.Trainable, shards);
    }

    /// <summary>Rows <paramref name="rows"/> of <paramref name="src"/> into a new tensor on the active tape.</summary>
    private static Tensor Gather(Tensor src, ReadOnlySpan<int> rows) => Tensor.GatherRows(src, rows);

    /// <summary>
    /// Rows [start, start + count) of <paramref name="src"/> as a view on the active tape (no copy: ops never write their
    /// inputs, and the view is recycled with the tape while <paramref name="src"/> outlives it).
    /// </summary>
    private static Tensor Range(Tensor src, int start, int count) => Tensor.RowRange(src, start, count);



    /// <summary>
    /// The state of the generator that shuffles the training samples each epoch (seeded with <see cref="Seed"/> + 1 by the
    /// first <see cref="O:Rnnx.Models.Model.Fit"/>), or null before that. Checkpoints save and restore it, so that training resumed with
    /// <c>initialEpoch</c> shuffles exactly as an uninterrupted run would. Setting null makes the next Fit start from the seed.
    /// </summary>
    public MT19937State? ShuffleRngState
    {
        get => _shuffleRng?.GetState();
        set
        {
            using var mutation = _access.Mutate(nameof(ShuffleRngState), reentrant: true);
            _shuffleRng = value is null ? null : new NumPyRandomState(value);
        }
    }
}
