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

public sealed partial class Sequential
{
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
    public Tensor Predict(Tensor x, int batchSize = 32) => Predict(x, batchSize, out _);

    private Tensor Predict(Tensor x, int batchSize, out Array resultArray)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        x = CheckInputs(x, "inputs", checkFinite: false);
        int n = x.Shape[0];
        var (outShape, perSample) = PredictPlan(x);
        // every element is written by a shard
        var resultShape = outShape.Insert(0, n);
        Tensor result;
        if (DType == DType.Float32)
        {
            var a = GC.AllocateUninitializedArray<float>(resultShape.Size);
            result = Tensor.Wrap(a, resultShape);
            resultArray = a;
        }
        else
        {
            var a = GC.AllocateUninitializedArray<double>(resultShape.Size);
            result = Tensor.Wrap(a, resultShape);
            resultArray = a;
        }
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
        st.Result = resultArray;
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
            st.Result = null;
            st.X = default;   // do not keep the caller's input (possibly their own array) alive
            foreach (var t in _inferTapes) t.Reset();
        }
        bool finite = result.AllFinite();
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
            if (DType == DType.Float32) pred.AsSpan<float>().CopyTo(((float[])st.Result!).AsSpan(lo * rowLen));
            else pred.AsSpan<double>().CopyTo(((double[])st.Result!).AsSpan(lo * rowLen));
        }
    }

    private Tape[] _inferTapes = [];



    /// <summary>Predictions for a flat float input of shape (samples, steps, features) etc.</summary>
    /// <remarks><paramref name="x"/> is read, never written, and not copied; the returned array is the prediction's own.</remarks>
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
}
