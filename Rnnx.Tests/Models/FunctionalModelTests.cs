using Rnnx.Diagnostics;
using Rnnx.Layers;
using Rnnx.Losses;
using Rnnx.Models;
using Rnnx.Optimizers;
using Rnnx.Tests.TestUtilities;

namespace Rnnx.Tests.Models;

/// <summary>
/// Functional models (Keras's functional API, keras/src/models/functional.py): a chain equals the Sequential model
/// bit for bit, shared layers sum their gradients, several inputs and outputs, recurrent states as values, and the
/// graph errors (disconnected inputs, unused inputs, incompatible calls).
/// </summary>
public class FunctionalModelTests
{
    private static (Sequential Sequential, Model Functional) SameChain(int seed)
    {
        var seq = new Sequential([new LSTM(6, returnSequences: true, inputShape: [null, 1]), new GRU(5), new Dense(10)], seed: seed);
        var x = new Input([null, 1]);
        var y = new Dense(10).Apply(new GRU(5).Apply(new LSTM(6, returnSequences: true).Apply(x)));
        return (seq, new Model(x, y, seed: seed));
    }

    private static int[][] Bits(Model m) => m.Weights.Select(p => p.Value.ToFloatArray().Select(BitConverter.SingleToInt32Bits).ToArray()).ToArray();

    [Test]
    public void AChainTrainsBitForBitAsTheSequentialModel()
    {
        var (x, y) = ChapterSlices.Take(ChapterSlices.TenStep.Train, 80);
        var (vx, vy) = ChapterSlices.Take(ChapterSlices.TenStep.Valid, 40);
        var (seq, fun) = SameChain(seed: 3);
        seq.Build();
        fun.Build();
        Assert.That(Bits(fun), Is.EqualTo(Bits(seq)), "initial weights");
        Assert.That(fun.NamedWeights().Select(w => w.Name), Is.EqualTo(seq.NamedWeights().Select(w => w.Name)));
        Assert.That(fun.Predict(vx).ToFloatArray(), Is.EqualTo(seq.Predict(vx).ToFloatArray()));

        History Train(Model m)
        {
            m.Compile(new Nadam(0.01), Loss.MeanSquaredError);
            return m.Fit(x, y, epochs: 2, batchSize: 16, validationData: (vx, vy), verbose: 0);
        }
        var hs = Train(seq);
        var hf = Train(fun);
        Assert.That(Bits(fun), Is.EqualTo(Bits(seq)), "trained weights");
        foreach (var key in hs.Keys) Assert.That(hf[key], Is.EqualTo(hs[key]), key);
        Assert.That(fun.Evaluate(vx, vy)["loss"], Is.EqualTo(seq.Evaluate(vx, vy)["loss"]));
    }

    [Test]
    public void ThreadCountDoesNotChangeTraining()
    {
        var (x, y) = ChapterSlices.Take(ChapterSlices.TenStep.Train, 64);
        int[][] Train(int threads)
        {
            var m = EncoderDecoder(seed: 9);
            m.Threads = threads;
            m.Shards = 2;
            m.Compile(new Adam(0.01), Loss.MeanSquaredError);
            m.Fit(x, y, epochs: 2, batchSize: 16, verbose: 0);
            return Bits(m);
        }
        Assert.That(Train(2), Is.EqualTo(Train(1)));
    }

    [Test]
    public void FunctionalGradientsEqualSequentialGradients()
    {
        var (seq, fun) = SameChain(seed: 4);
        seq.Build(dtype: DType.Float64);
        fun.Build(dtype: DType.Float64);
        var x = new RandomTensors(1).Uniform(3, 7, 1);
        static double[][] Grads(Model m, Tensor x)
        {
            var tape = new Tape();
            using (tape.Activate())
            {
                var y = m.Call(x, training: true);
                var g = tape.Backward(Tensor.Sum(y * y));
                return m.Weights.Select(p => g[p.Value].ToDoubleArray()).ToArray();
            }
        }
        Assert.That(Grads(fun, x), Is.EqualTo(Grads(seq, x)));
    }

    /// <summary>The chapter's encoder–decoder: LSTM(return_state) → RepeatVector → LSTM(initial_state=[h, c]) → Dense per step.</summary>
    private static Model EncoderDecoder(int seed, int units = 4, int horizon = 10)
    {
        var x = new Input([null, 1], name: "series");
        var (encoded, h, c) = new LSTM(units, returnState: true, name: "encoder").ApplyMany(x);
        var repeated = new RepeatVector(horizon).Apply(encoded);
        var decoded = new LSTM(units, returnSequences: true, name: "decoder").ApplyMany(repeated, h, c)[0];
        var y = new TimeDistributed(new Dense(1)).Apply(decoded);
        return new Model(x, y, name: "encoder_decoder", seed: seed);
    }

    [Test]
    public void EncoderDecoderGradientCheck()
    {
        var m = EncoderDecoder(seed: 5, units: 3, horizon: 4);
        m.Build(dtype: DType.Float64);
        var rng = new RandomTensors(7);
        foreach (var p in m.Weights) p.Assign(rng.Uniform(p.Shape, -0.6, 0.6));
        var x = rng.Uniform(2, 5, 1);
        var result = GradientChecker.CheckModel(m, x);
        Assert.That(result.Elements, Is.EqualTo(x.Size + m.CountParams()));
    }

    [Test]
    public void SharedLayerSumsTheGradientsOfItsCalls()
    {
        var a = new Input([3], name: "a");
        var b = new Input([3], name: "b");
        var shared = new Dense(2, activation: Activation.Tanh, name: "shared");
        var ya = shared.Apply(a);
        var product = new Multiply().ApplyMany(ya, shared.Apply(b))[0];
        var model = new Model([a, b], [product, ya], name: "siamese");
        model.Build(dtype: DType.Float64);
        Assert.That(model.Weights, Has.Count.EqualTo(2), "one weight set");
        var r = new RandomTensors(11);
        foreach (var p in model.Weights) p.Assign(r.Uniform(p.Shape));
        var xa = r.Uniform(4, 3);
        var xb = r.Uniform(4, 3);
        var check = GradientChecker.Check(() =>
        {
            var outs = model.CallMany([xa, xb], training: true);
            return Tensor.Concat(1, outs[0], outs[1]);
        }, [xa, xb, .. model.Weights.Select(p => p.Value)]);
        Assert.That(check.Elements, Is.EqualTo(xa.Size + xb.Size + model.CountParams()));

        var predicted = model.PredictMany([xa, xb], batchSize: 3);
        var called = model.CallMany([xa, xb]);
        Assert.That(predicted.Select(t => t.ToDoubleArray()), Is.EqualTo(called.Select(t => t.ToDoubleArray())));
    }

    /// <summary>
    /// A shared Embedding reads sequences of another length (Keras 3's Embedding has no input_spec and build() ignores
    /// the input shape: keras/src/layers/core/embedding.py), with a fixed or an unknown first length; the model trains
    /// one embedding matrix from both calls, whose gradient is the sum of the calls' gradients.
    /// </summary>
    [Test]
    public void SharedEmbeddingReadsSequencesOfAnotherLength([Values(50, null)] int? firstLength)
    {
        var longer = new Input([firstLength], name: "longer");
        var shorter = new Input([20], name: "shorter");
        var embedding = new Embedding(100, 8, name: "shared_embedding");
        var lstm = new LSTM(3, name: "shared_lstm");
        var joined = new Concatenate().ApplyMany(lstm.Apply(embedding.Apply(longer)), lstm.Apply(embedding.Apply(shorter)))[0];
        var model = new Model([longer, shorter], [new Dense(1).Apply(joined)], seed: 3);
        model.Build(dtype: DType.Float64);
        Assert.That(model.Weights.Count(p => p.Name.Contains("embeddings")), Is.EqualTo(1), "one embedding matrix");
        var r = new System.Random(5);
        Tensor Ids(int n, int t) => Tensor.FromArray(Enumerable.Range(0, n * t).Select(_ => (double)r.Next(100)).ToArray(), n, t);
        var (xl, xs) = (Ids(4, 50), Ids(4, 20));
        var y = new RandomTensors(6).Uniform(4, 1);
        var check = GradientChecker.Check(() => model.CallMany([xl, xs], training: true)[0], [embedding.Embeddings.Value]);
        Assert.That(check.Elements, Is.EqualTo(100 * 8));
        model.Compile(new Sgd(0.5), Loss.MeanSquaredError);
        var before = embedding.Embeddings.Value.ToDoubleArray();
        double first = model.TrainOnBatch([xl, xs], [y]);
        for (int i = 0; i < 5; i++) model.TrainOnBatch([xl, xs], [y]);
        Assert.That(embedding.Embeddings.Value.ToDoubleArray(), Is.Not.EqualTo(before), "training moved the shared embedding");
        Assert.That(model.Evaluate([xl, xs], [y])["loss"], Is.LessThan(first));
    }

    [Test]
    public void GraphErrorsNameTheLayersAndShapes()
    {
        var a = new Input([3], name: "first");
        var b = new Input([3], name: "second");
        var y = new Add(name: "plus").ApplyMany(a, b)[0];
        var ex = Assert.Throws<ArgumentException>(() => new Model(a, y, name: "broken"));
        Assert.That(ex!.Message, Does.Contain("broken").And.Contain("disconnected").And.Contain("second").And.Contain("plus"));

        var unused = new Input([2], name: "spare");
        ex = Assert.Throws<ArgumentException>(() => new Model([a, b, unused], [y]));
        Assert.That(ex!.Message, Does.Contain("spare").And.Contain("not connected"));

        var wide = new Input([4], name: "wide");
        var sx = Assert.Throws<ShapeMismatchException>(() => new Add(name: "mismatch").ApplyMany(a, wide));
        Assert.That(sx!.Message, Does.Contain("mismatch").And.Contain("(None, 3) and (None, 4)"));

        var dense = new Dense(2, name: "shared_dense");
        dense.Apply(a);
        sx = Assert.Throws<ShapeMismatchException>(() => dense.Apply(wide));
        Assert.That(sx!.Message, Does.Contain("shared_dense").And.Contain("(None, 3)").And.Contain("(None, 4)"));

        var seqInput = new Input([null, 1]);
        sx = Assert.Throws<ShapeMismatchException>(() => new LSTM(4, name: "dec").ApplyMany(seqInput, new Dense(5).Apply(new Input([2]))));
        Assert.That(sx!.Message, Does.Contain("dec").And.Contain("2 initial state(s)"));

        var two = new Model([a, b], [y]);
        ex = Assert.Throws<ArgumentException>(() => two.Predict(Tensor.Ones(new Shape(2, 3))));
        Assert.That(ex!.Message, Does.Contain("2 input(s)").And.Contain("CallMany"));
        ex = Assert.Throws<ArgumentException>(() => two.PredictMany([Tensor.Ones(new Shape(2, 3))]));
        Assert.That(ex!.Message, Does.Contain("takes 2 input(s), got 1"));
        ex = Assert.Throws<ShapeMismatchException>(() => two.PredictMany([Tensor.Ones(new Shape(2, 3)), Tensor.Ones(new Shape(2, 5))]));
        Assert.That(ex!.Message, Does.Contain("second").And.Contain("(samples, 3)"));
    }

    [Test]
    public void SummaryHasKerasConnectedToColumn()
    {
        var m = EncoderDecoder(seed: 1, units: 20);
        m.Build();
        var text = m.Summary();
        TestContext.Out.WriteLine(text);
        Assert.That(text, Does.Contain("Connected to"));
        Assert.That(text, Does.Contain(" series (InputLayer)"));
        Assert.That(text, Does.Contain("['series[0][0]']"));
        Assert.That(text, Does.Contain("['repeat_vector[0][0]',"));
        Assert.That(text, Does.Contain("'encoder[0][1]',"));
        Assert.That(text, Does.Contain("'encoder[0][2]']"));
        // Keras parameter counts: LSTM(20) on 1 feature 4·20·(1+20+1) = 1,760; on 20 features 4·20·(20+20+1) = 3,280; Dense(1) 21.
        Assert.That(text, Does.Contain("Total params: 5,061"));
        Assert.That(m.CountParams(), Is.EqualTo(1760 + 3280 + 21));
    }

    [TestCase("sequential")]
    [TestCase("chain")]
    [TestCase("encoder_decoder")]
    [TestCase("lstm_state")]
    [TestCase("output_and_state")]
    [TestCase("lstm_initial_state")]
    [TestCase("gru_initial_state")]
    [TestCase("repeat")]
    [TestCase("lstm_seq")]
    public void TrainingStepAllocatesUnderOneKilobyte(string kind)
    {
        Model Make()
        {
            var x = new Input([null, 1]);
            switch (kind)
            {
                case "sequential": return SameChain(2).Sequential;
                case "chain": return SameChain(2).Functional;
                case "encoder_decoder": return EncoderDecoder(seed: 2);
                case "lstm_state":
                    var (_, h, _) = new LSTM(4, returnState: true).ApplyMany(x);
                    return new Model(x, new Dense(10).Apply(h));
                case "output_and_state":
                    var (y1, h1, _) = new LSTM(4, returnState: true).ApplyMany(x);
                    return new Model(x, new Dense(10).Apply(new Add().ApplyMany(y1, h1)[0]));
                case "lstm_initial_state":
                    var (_, h2, c2) = new LSTM(4, returnState: true).ApplyMany(x);
                    return new Model(x, new Dense(10).Apply(new LSTM(4).ApplyMany(x, h2, c2)[0]));
                case "gru_initial_state":
                    var (_, h3) = new GRU(4, returnState: true).ApplyMany(x);
                    return new Model(x, new Dense(10).Apply(new GRU(4).ApplyMany(x, h3)[0]));
                case "repeat":
                    var r = new RepeatVector(10).Apply(new LSTM(4).Apply(x));
                    return new Model(x, new Dense(1).Apply(new Flatten().Apply(new TimeDistributed(new Dense(1)).Apply(r))));
                default:
                    return new Model(x, new Dense(10).Apply(new LSTM(4).Apply(new LSTM(4, returnSequences: true).Apply(x))));
            }
        }
        var m = Make();
        m.Threads = 1;
        m.Compile(new Nadam(), Loss.MeanSquaredError);
        var (xs, ys) = ChapterSlices.Take(ChapterSlices.TenStep.Train, 32);
        if (kind == "repeat") ys = Tensor.Slice(ys, axis: 1, start: 0, stop: 1, step: 1);
        long perStep = SteadyStateAllocation.BytesPerRun(() => m.TrainOnBatch(xs, ys), warmUps: 3, measured: 20).Max();
        TestContext.Out.WriteLine($"{kind}: {perStep} bytes per step");
        Assert.That(perStep, Is.LessThan(1024), $"{perStep} bytes per training step");
    }

    [Test]
    public void WeightsAreInKerasOrderLayerByLayer()
    {
        var m = EncoderDecoder(seed: 3);
        m.Build();
        Assert.That(m.NamedWeights().Select(w => w.Name), Is.EqualTo(new[]
        {
            "encoder/kernel", "encoder/recurrent_kernel", "encoder/bias",
            "decoder/kernel", "decoder/recurrent_kernel", "decoder/bias",
            "time_distributed/kernel", "time_distributed/bias",
        }));
        var weights = m.GetWeights();
        Assert.That(weights[0].Shape, Is.EqualTo(new Shape(1, 16)));
        var changed = weights.Select(w => w * 2.0).ToArray();
        m.SetWeights(changed);
        Assert.That(m.GetWeights()[3].ToFloatArray(), Is.EqualTo(changed[3].ToFloatArray()));
        Assert.Throws<ShapeMismatchException>(() => m.SetWeights([.. changed[..^1], Tensor.Zeros(new Shape(3))]));
        Assert.That(m.GetWeights()[^1].ToFloatArray(), Is.EqualTo(changed[^1].ToFloatArray()), "nothing changed");
    }

    /// <summary>Initial states as model inputs: gradients with respect to the sequence, the state input and every weight.</summary>
    [Test]
    public void GraphWithStateInputsGradientCheck([Values("gru", "lstm")] string kind)
    {
        var x = new Input([null, 2], name: "sequence");
        var h = new Input([3], name: "h0");
        Model m;
        if (kind == "gru")
            m = new Model([x, h], [new Dense(2).Apply(new GRU(3).ApplyMany(x, h)[0])]);
        else
        {
            var c = new Input([3], name: "c0");
            var (y, hT, cT) = new LSTM(3, returnSequences: true, returnState: true).ApplyMany(x, h, c);
            m = new Model([x, h, c], [new TimeDistributed(new Dense(2)).Apply(y), new Concatenate().ApplyMany(hT, cT)[0]]);
        }
        m.Build(dtype: DType.Float64);
        var r = new RandomTensors(21);
        foreach (var p in m.Weights) p.Assign(r.Uniform(p.Shape, -0.6, 0.6));
        var inputs = m.Inputs.Select(t => r.Uniform(new Shape([2, .. t.Shape.Select(d => d ?? 4)]))).ToArray();
        var result = GradientChecker.Check(() =>
        {
            var outs = m.CallMany(inputs, training: true);
            return Tensor.Concat(0, outs.Select(o => Tensor.Reshape(o, o.Size)).ToArray());
        }, [.. inputs, .. m.Weights.Select(p => p.Value)]);
        Assert.That(result.Elements, Is.EqualTo(inputs.Sum(t => t.Size) + m.CountParams()));
    }

    [Test]
    public void WhileFitRunsReadsAreRefusedNamingBoth()
    {
        var a = new Input([null, 1]);
        var b = new Input([null, 1]);
        var m = new Model([a, b], [new Add().ApplyMany(new LSTM(3).Apply(a), new LSTM(3).Apply(b))[0]], name: "pair");
        var single = EncoderDecoder(seed: 4);
        single.Compile(new Adam(), Loss.MeanSquaredError);
        var (x, y) = ChapterSlices.Take(ChapterSlices.TenStep.Train, 64);
        using var entered = new ManualResetEventSlim();
        using var open = new ManualResetEventSlim();
        var gate = new GateCallback(entered, open);
        var fitting = new Thread(() => single.Fit(x, y, epochs: 1, batchSize: 32, callbacks: [gate], verbose: 0));
        fitting.Start();
        try
        {
            Assert.That(entered.Wait(TimeSpan.FromSeconds(30)), "Fit reached its first batch end");
            var e = Assert.Throws<InvalidOperationException>(() => single.PredictMany([x]));
            Assert.That(e!.Message, Does.Contain("PredictMany").And.Contain("while Fit is running"));
            e = Assert.Throws<InvalidOperationException>(() => single.CallMany([x]));
            Assert.That(e!.Message, Does.Contain("CallMany").And.Contain("while Fit is running"));
        }
        finally
        {
            open.Set();
            fitting.Join();
        }
        Assert.That(m.PredictMany([Tensor.Ones(new Shape(2, 5, 1)), Tensor.Ones(new Shape(2, 5, 1))])[0].Shape, Is.EqualTo(new Shape(2, 3)));
    }

    private sealed class GateCallback(ManualResetEventSlim entered, ManualResetEventSlim open) : Callback
    {
        public override void OnBatchEnd(int epoch, int batch, IReadOnlyDictionary<string, double> logs)
        {
            if (epoch > 0 || batch > 0) return;
            entered.Set();
            open.Wait(TimeSpan.FromSeconds(30));
        }
    }
}
