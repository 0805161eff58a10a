using Rnnx.Layers;

namespace Rnnx.Models;

public partial class Model
{
    /// <summary>Loss and metrics on (x, y), averaged over samples as Keras does (batch-size-weighted means).</summary>
    /// <remarks>Safe to call from many threads at once and together with <see cref="Predict(Tensor, int)"/> (see the class remarks).</remarks>
    /// <exception cref="InvalidOperationException">Not compiled, or a mutation (Fit, SetWeights, ...) is running on another thread.</exception>
    /// <exception cref="ArgumentException">Bad data.</exception>
    public Dictionary<string, double> Evaluate(Tensor x, Tensor y, int batchSize = 32)
    {
        using var read = _access.Read(nameof(Evaluate));
        if (Loss is null) throw new InvalidOperationException($"{Name}: call Compile before Evaluate.");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        x = CheckInputs(x, "inputs");
        y = AlignTargets(x, y, "targets");
        return EvaluateCore([x], [y], batchSize);
    }

    /// <summary>
    /// Loss and metrics of a model with several inputs or outputs: one tensor per input, one target per output; the keys
    /// as in <see cref="Fit(IReadOnlyList{Tensor}, IReadOnlyList{Tensor}, int, int, bool, ValueTuple{IReadOnlyList{Tensor}, IReadOnlyList{Tensor}}?, IEnumerable{Callback}?, int, int, IReadOnlyList{Tensor?}?, IReadOnlyDictionary{int, double}?)"/>'s History.
    /// </summary>
    /// <exception cref="InvalidOperationException">Not compiled, or a mutation is running on another thread.</exception>
    /// <exception cref="ArgumentException">The wrong number of tensors, different sample counts, or shapes that do not fit.</exception>
    public Dictionary<string, double> Evaluate(IReadOnlyList<Tensor> x, IReadOnlyList<Tensor> y, int batchSize = 32)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        using var read = _access.Read(nameof(Evaluate));
        if (Loss is null) throw new InvalidOperationException($"{Name}: call Compile before Evaluate.");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        var (xs, ys) = CheckData(x, y, "inputs", "targets");
        return EvaluateCore(xs, ys, batchSize);
    }

    /// <summary>Predictions of a model with several inputs or outputs: one tensor per input, one heap tensor per output (<see cref="PredictMany"/>).</summary>
    /// <exception cref="ArgumentException">The wrong number of inputs, different sample counts, or a shape that does not fit.</exception>
    /// <exception cref="InvalidOperationException">A mutation is running on another thread.</exception>
    public Tensor[] Predict(IReadOnlyList<Tensor> x, int batchSize = 32) => PredictMany(x, batchSize);

    /// <summary>
    /// Predictions for (samples, ...) inputs in batches, recording nothing. Sequences of any length are accepted by
    /// recurrent and causal models.
    /// <para>
    /// Non-finite inputs: when a prediction comes out non-finite, the inputs are scanned and the first NaN or infinity
    /// is reported with its sample (<see cref="ArgumentException"/>). Checking the predictions rather than every input
    /// value keeps a second pass over the data out of every call; a non-finite input whose prediction is still finite
    /// (tanh(inf) = 1) is accepted, as Keras accepts it.
    /// </para>
    /// <para>
    /// Thread safety: any number of threads may call Predict (and <see cref="Evaluate(Tensor, Tensor, int)"/>) on one model at once; each
    /// call gets the same bits it would get alone. Calls do not wait for each other: each runs on a workspace of its
    /// own from a pool, and a large batch is split over <see cref="Threads"/> only when the model's shard threads are
    /// free (otherwise the same split runs on the calling thread, so the results are the same).
    /// </para>
    /// </summary>
    /// <returns>A heap tensor (samples, ...output).</returns>
    /// <exception cref="ArgumentException">Bad input shape, or a non-finite input that made a prediction non-finite.</exception>
    /// <exception cref="InvalidOperationException">A mutation (Fit, TrainOnBatch, SetWeights, LoadWeights, ...) is running on another thread.</exception>
    public Tensor Predict(Tensor x, int batchSize = 32) => Predict(x, batchSize, out _);

    private Tensor Predict(Tensor x, int batchSize, out Array resultArray)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        using var read = _access.Read(nameof(Predict));
        x = CheckInputs(x, "inputs", checkFinite: false);
        var plan = PredictPlan(x);
        // every element is written by a shard
        (var result, resultArray) = AllocateResult(plan.PerSampleOutput.Insert(0, x.Shape[0]));
        PredictCore(x, plan, resultArray, batchSize);
        bool finite = result.AllFinite();
        if (!finite) CheckFinite(x, "inputs");
        return result;
    }

    /// <summary>
    /// Predictions for (samples, ...) inputs written into <paramref name="output"/>, the caller's buffer of samples ×
    /// (values per sample of <see cref="OutputShape"/>) floats in row-major order: the same values as
    /// <see cref="Predict(Tensor, int)"/>, without allocating once warm (serving loops, large batches).
    /// </summary>
    /// <remarks>Safe to call from many threads at once, as <see cref="Predict(Tensor, int)"/> (with a buffer per call).</remarks>
    /// <exception cref="ArgumentException">
    /// Bad input shape, an output buffer of the wrong length or sharing memory with <paramref name="x"/> (nothing is
    /// written), a float64 model (use the double[] overload), or a non-finite input that made a prediction non-finite
    /// (the buffer then holds the predictions).
    /// </exception>
    /// <exception cref="InvalidOperationException">A mutation (Fit, TrainOnBatch, SetWeights, LoadWeights, ...) is running on another thread.</exception>
    public void Predict(Tensor x, float[] output, int batchSize = 32) => PredictInto(x, output, batchSize);

    /// <inheritdoc cref="Predict(Tensor, float[], int)"/>
    public void Predict(Tensor x, double[] output, int batchSize = 32) => PredictInto(x, output, batchSize);

    private void PredictInto(Tensor x, Array output, int batchSize)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        using var read = _access.Read(nameof(Predict));
        // The chunks write predictions while later chunks still read inputs, so a buffer sharing x's memory would corrupt them.
        bool overlaps = x.DType == DType.Float32 ? output is float[] f && x.AsSpan<float>().Overlaps(f)
            : output is double[] d && x.AsSpan<double>().Overlaps(d);
        if (overlaps)
            throw new ArgumentException($"{Name}: the output buffer is the memory of the input tensor x {x.Shape}; predict into a separate buffer.", nameof(output));
        x = CheckInputs(x, "inputs", checkFinite: false);
        var plan = PredictPlan(x);
        bool isFloat = output is float[];
        if (isFloat != (DType == DType.Float32))
            throw new ArgumentException($"{Name}: a {DType} model predicts into a {(DType == DType.Float32 ? "float[]" : "double[]")}, got {output.GetType().Name}.", nameof(output));
        long needed = (long)x.Shape[0] * plan.PerSampleOutput.Size;
        if (output.Length != needed)
            throw new ArgumentException($"{Name}: the output buffer for {x.Shape[0]} samples of shape {plan.PerSampleOutput} must hold {needed} values, got {output.Length}.", nameof(output));
        PredictCore(x, plan, output, batchSize);
        bool finite = isFloat ? AllFinite<float>((float[])output) : AllFinite<double>((double[])output);
        if (!finite) CheckFinite(x, "inputs");
    }

    private static bool AllFinite<T>(T[] values) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        // x - x is 0 for finite x and NaN for infinities and NaN
        var span = values.AsSpan();
        int i = 0;
        if (System.Numerics.Vector.IsHardwareAccelerated)
        {
            var acc = System.Numerics.Vector<T>.Zero;
            for (; i + System.Numerics.Vector<T>.Count <= span.Length; i += System.Numerics.Vector<T>.Count)
            {
                var v = new System.Numerics.Vector<T>(span[i..]);
                acc += v - v;
            }
            if (!System.Numerics.Vector.EqualsAll(acc, System.Numerics.Vector<T>.Zero)) return false;
        }
        for (; i < span.Length; i++)
            if (!T.IsFinite(span[i])) return false;
        return true;
    }

    /// <summary>Runs the chunks of <paramref name="x"/> (checked, with its plan) into <paramref name="resultArray"/> on a rented workspace.</summary>
    private void PredictCore(Tensor x, PredictPlanEntry plan, Array resultArray, int batchSize)
    {
        int n = x.Shape[0];
        CheckStatefulData(nameof(Predict), n, batchSize);
        using var statefulCall = EnterStatefulCall(nameof(Predict));
        int threads = ThreadsUsed;
        var ws = RentWorkspace();
        ShardWorkers? workers = null;
        ws.X = x;
        ws.Result = resultArray;
        try
        {
            for (int start = 0; start < n; start += batchSize)
            {
                int count = Math.Min(batchSize, n - start);
                ws.BatchStart = start;
                ws.BatchCount = count;
                // Split a batch over the threads only when each part keeps enough rows and enough work to be worth
                // a hand-off (waking a worker costs about as much as a few microseconds of arithmetic). The split
                // depends only on the batch and Threads, never on which thread runs a part, so results are the same
                // whether this call got the shard threads or runs every part itself.
                long work = count * plan.Work;
                ws.ShardCount = (int)Math.Clamp(Math.Min(count / 8, work / MinPredictWorkPerShard), 1, threads);
                // threads beyond the shards split the shards' large products (one series of a big model)
                bool teams = ws.ShardCount < threads && work >= MinPredictWorkPerTeam;
                bool parallel = ws.ShardCount > 1 || teams;
                if (parallel && workers is null) workers = TryAcquireWorkers(threads);
                if (parallel && workers is not null)
                {
                    ws.Tape(ws.ShardCount - 1);   // grow the tapes here, not on the shard threads
                    workers.Run(ws.ShardCount, ws.RunShard, teams);
                }
                else for (int s = 0; s < ws.ShardCount; s++) ws.RunShardOnTape(s, 0);
            }
        }
        finally
        {
            if (workers is not null) ReleaseWorkers();
            ws.X = default;   // do not keep the caller's input (possibly their own array) alive
            ws.Result = null;
            ReturnWorkspace(ws);
        }
    }

    /// <summary>A heap tensor of the model's dtype over a new array every element of which the caller writes.</summary>
    private (Tensor Result, Array Array) AllocateResult(Shape shape)
    {
        if (DType == DType.Float32)
        {
            var a = GC.AllocateUninitializedArray<float>(shape.Size);
            return (Tensor.Wrap(a, shape), a);
        }
        var d = GC.AllocateUninitializedArray<double>(shape.Size);
        return (Tensor.Wrap(d, shape), d);
    }

    /// <summary>Predictions for a flat float input of shape (samples, steps, features) etc.</summary>
    /// <remarks>
    /// <paramref name="x"/> is read, never written, and not copied; the returned array is the prediction's own.
    /// Safe to call from many threads at once, as <see cref="Predict(Tensor, int)"/>.
    /// </remarks>
    public float[] Predict(float[] x, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(shape);
        var s = new Shape(shape);
        if (x.Length != s.Size)
            throw new ShapeMismatchException($"{Name}: {x.Length} input values cannot have shape {s} ({s.Size} elements).", nameof(x));
        var result = Predict(Tensor.Wrap(x, s), 32, out var array);
        // a fresh array nobody else holds: hand it over instead of copying it
        return array as float[] ?? result.ToFloatArray();
    }

    /// <summary>
    /// What Predict needs to know about one input shape: the per-sample output shape and an arithmetic estimate.
    /// Immutable, so a call reads a consistent plan while another call replaces it with the plan of another shape.
    /// </summary>
    private sealed record PredictPlanEntry(Shape Input, int LayerCount, Shape PerSampleOutput, long Work);

    /// <summary>The plan of the last input shape (one-series Predict calls in a loop pay for the shape walk once).</summary>
    private PredictPlanEntry? _plan;

    private PredictPlanEntry PredictPlan(Tensor x)
    {
        var inShape = x.Shape.Remove(0);
        var cached = Volatile.Read(ref _plan);
        if (cached is not null && cached.LayerCount == _layers.Count && cached.Input == inShape) return cached;
        var slots = Graph.SlotShapes([Layer.WithoutBatch(x.Shape)]);
        long perSample = 0;
        foreach (var node in Graph.Nodes)
            perSample += WorkPerSample(node.Layer, slots[node.InputSlots[0]], slots[node.FirstOutputSlot]);
        var shape = slots[Graph.OutputSlots[0]];
        var output = new Shape(shape.Select(d => d ?? throw new InvalidOperationException($"{Name}: output length unknown.")).ToArray());
        var plan = new PredictPlanEntry(inShape, _layers.Count, output, perSample);
        Volatile.Write(ref _plan, plan);
        return plan;
    }

    /// <summary>Rough arithmetic per sample below which a Predict shard is not worth a thread hand-off (about 20 µs).</summary>
    private const long MinPredictWorkPerShard = 1_000_000;

    /// <summary>Rough arithmetic of a chunk below which its shards' products are not split over the other threads (about 0.2 ms).</summary>
    private const long MinPredictWorkPerTeam = 10_000_000;

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

    /// <summary>Idle inference workspaces, enough to keep a busy server's concurrent callers warm.</summary>
    private readonly WorkspacePool<InferenceWorkspace> _workspaces = new(Math.Max(8, 2 * Environment.ProcessorCount));

    private InferenceWorkspace RentWorkspace() => _workspaces.Rent() ?? new InferenceWorkspace(this);

    private void ReturnWorkspace(InferenceWorkspace ws)
    {
        ws.ResetTapes();
        _workspaces.Return(ws);
    }

    /// <summary>
    /// Everything one Predict or Evaluate call writes while it runs: its tapes (one per shard thread) and the chunk being
    /// predicted. A call owns its workspace exclusively, so concurrent calls share nothing mutable.
    /// </summary>
    private sealed class InferenceWorkspace
    {
        private readonly Model _model;
        private Tape[] _tapes = [];
        public Tensor X;

        /// <summary>The prediction's own array (float[] or double[]), written by every shard.</summary>
        public Array? Result;
        public int BatchStart, BatchCount, ShardCount;

        /// <summary>The shard delegate, created once per workspace so that a call allocates none.</summary>
        public readonly Action<int> RunShard;

        public InferenceWorkspace(Model model)
        {
            _model = model;
            RunShard = s => RunShardOnTape(s, s);
        }

        public Tape Tape(int i)
        {
            if (i >= _tapes.Length)
            {
                var grown = new Tape[i + 1];
                _tapes.CopyTo(grown, 0);
                for (int k = _tapes.Length; k <= i; k++) grown[k] = new Tape();
                _tapes = grown;
            }
            return _tapes[i];
        }

        /// <summary>Inference on shard <paramref name="s"/> of the current chunk, on tape <paramref name="tapeIndex"/>.</summary>
        public void RunShardOnTape(int s, int tapeIndex)
        {
            int count = BatchCount, shards = ShardCount;
            int lo = BatchStart + (int)((long)count * s / shards), hi = BatchStart + (int)((long)count * (s + 1) / shards);
            var tape = Tape(tapeIndex);
            tape.Reset();
            using (tape.Activate())
            using (tape.NoGrad())
            using (StatefulBatch.Enter(lo - BatchStart, count))
            {
                var pred = _model.RunLayers(Range(X, lo, hi - lo), training: false);
                int rowLen = pred.Size / (hi - lo);
                if (_model.DType == DType.Float32) pred.AsSpan<float>().CopyTo(((float[])Result!).AsSpan(lo * rowLen));
                else pred.AsSpan<double>().CopyTo(((double[])Result!).AsSpan(lo * rowLen));
            }
        }

        public void ResetTapes()
        {
            foreach (var t in _tapes) t.Reset();
        }
    }
}
