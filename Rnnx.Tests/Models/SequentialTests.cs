using Rnnx.Layers;
using Rnnx.Models;
using Rnnx.Optimizers;

namespace Rnnx.Tests.Models;

/// <summary>
/// Sequential's training loop as Keras 3's (keras-team/keras at 3422977a: keras/src/trainers/trainer.py and compile_utils.py, a
/// sample-weighted Mean loss tracker; trainers/data_adapters/array_data_adapter.py, batch 32 and a shuffle per epoch): reproducibility, thread independence, History, the
/// sample-weighted epoch loss, validation, Predict, variable-length inference and weight I/O.
/// </summary>
public class SequentialTests
{
    internal static int[][] Bits(Sequential m) =>
        m.Weights.Select(p => p.Value.ToFloatArray().Select(BitConverter.SingleToInt32Bits).ToArray()).ToArray();

    internal static void AssertBitIdentical(Sequential a, Sequential b, string what)
    {
        var wa = Bits(a);
        var wb = Bits(b);
        Assert.That(wb, Has.Length.EqualTo(wa.Length));
        for (int i = 0; i < wa.Length; i++) Assert.That(wb[i], Is.EqualTo(wa[i]), $"{what}: weight {i} ({a.Weights[i].Name})");
    }

    private static (Tensor X, Tensor Y) SeqSlice(int n) => ChapterSlices.Take(ChapterSlices.TenStep.TrainSequence, n);

    // ------------------------------------------------------------------ reproducibility

    [Test]
    public void SameSeed_GivesBitIdenticalWeightsAndTraining()
    {
        var (x, y) = SeqSlice(96);
        var (vx, vy) = ChapterSlices.Take(ChapterSlices.TenStep.ValidSequence, 40);
        Sequential Train(out History h)
        {
            var m = ChapterModels.SeqToSeq(seed: 7);
            m.Build();
            m.Compile(new Nadam(0.01), "mse", ChapterModels.LastTimeStepMse);
            h = m.Fit(x, y, epochs: 2, batchSize: 32, validationData: (vx, vy), verbose: 0);
            return m;
        }

        var init1 = ChapterModels.SeqToSeq(seed: 7);
        var init2 = ChapterModels.SeqToSeq(seed: 7);
        var other = ChapterModels.SeqToSeq(seed: 8);
        init1.Build();
        init2.Build();
        other.Build();
        AssertBitIdentical(init1, init2, "initial weights");
        Assert.That(other.Weights[0].Value.ToFloatArray(), Is.Not.EqualTo(init1.Weights[0].Value.ToFloatArray()), "another seed");

        var a = Train(out var ha);
        var b = Train(out var hb);
        AssertBitIdentical(a, b, "after 2 epochs");
        Assert.That(Bits(a)[0], Is.Not.EqualTo(Bits(init1)[0]), "training changed the weights");
        foreach (var key in ha.Keys) Assert.That(hb[key], Is.EqualTo(ha[key]), key);
    }

    [Test]
    public void OneThreadAndTwoThreads_GiveBitIdenticalTrainedWeights()
    {
        var (x, y) = SeqSlice(80);   // batches of 32, 32, 16; every batch split into 2 shards
        Sequential Train(int threads)
        {
            var m = ChapterModels.LnRnn(seed: 3);
            m.Threads = threads;
            m.Shards = 2;
            m.Compile(new Nadam(0.01), "mse");
            m.Fit(x, y, epochs: 2, verbose: 0);
            return m;
        }
        AssertBitIdentical(Train(1), Train(2), "Threads 1 vs 2");

        Sequential TrainConv(int threads)
        {
            var m = ChapterModels.WaveNet(seed: 3);
            m.Threads = threads;
            m.Shards = 2;
            m.Compile(new Nadam(0.01), "mse");
            m.Fit(x, y, epochs: 2, verbose: 0);
            return m;
        }
        AssertBitIdentical(TrainConv(1), TrainConv(2), "WaveNet, Threads 1 vs 2");
    }

    [Test]
    public void ShardedStep_EqualsTheFullBatchGradientStep()
    {
        // Float64 model, one batch of 5 samples: shards of uneven size (2/3, 1/2/2, ...) must be weighted by their
        // size so that the summed gradient is the whole batch's mean-loss gradient.
        var (x, y) = SeqSlice(5);
        const double lr = 0.05;
        double[][] Step(int shards)
        {
            var m = ChapterModels.LnRnn(seed: 11);
            m.Build(dtype: DType.Float64);
            m.Shards = shards;
            m.Compile(new TestSgd(lr), "mse");
            m.Fit(x, y, epochs: 1, batchSize: 5, shuffle: false, verbose: 0);
            return m.Weights.Select(p => p.Value.ToDoubleArray()).ToArray();
        }

        // Reference: w − lr·∇(mean loss over the 5 samples), from one tape over the whole batch.
        var reference = ChapterModels.LnRnn(seed: 11);
        reference.Build(dtype: DType.Float64);
        var expected = new List<double[]>();
        using (var tape = new Tape())
        using (tape.Activate())
        {
            var pred = reference.Call(x.Copy(DType.Float64), training: true);
            var loss = Tensor.MeanSquaredError(y.Copy(DType.Float64), pred);
            var g = tape.Backward(loss);
            foreach (var p in reference.Weights)
            {
                var w = p.Value.ToDoubleArray();
                var gw = g[p].ToDoubleArray();
                expected.Add(w.Select((v, i) => v - lr * gw[i]).ToArray());
            }
        }
        foreach (int shards in new[] { 1, 2, 3, 5 })
        {
            var got = Step(shards);
            for (int i = 0; i < got.Length; i++)
                Assert.That(got[i], Is.EqualTo(expected[i]).Within(1e-13), $"{shards} shards, weight {i}");
        }
    }

    // ------------------------------------------------------------------ History and the epoch averages

    [Test]
    public void History_HasKerasKeysInOrder_OneValuePerEpoch()
    {
        var (x, y) = SeqSlice(50);
        var (vx, vy) = ChapterSlices.Take(ChapterSlices.TenStep.ValidSequence, 20);
        var m = ChapterModels.WaveNet();
        m.Compile(new Nadam(), "mse", ChapterModels.LastTimeStepMse);
        var h = m.Fit(x, y, epochs: 3, validationData: (vx, vy), verbose: 0);
        Assert.That(h.Keys, Is.EqualTo(new[] { "loss", "last_time_step_mse", "val_loss", "val_last_time_step_mse" }));
        foreach (var k in h.Keys) Assert.That(h[k], Has.Count.EqualTo(3), k);
        Assert.That(h.Epochs, Is.EqualTo(3));
        Assert.That(h.StopReason, Is.Null);
        Assert.That(h.Keys.SelectMany(k => h[k]), Has.All.GreaterThan(0.0));
        Assert.Throws<KeyNotFoundException>(() => _ = h["val_mse"]);

        // The last epoch's validation values are Evaluate's on the final weights.
        var ev = m.Evaluate(vx, vy);
        Assert.That(ev["loss"], Is.EqualTo(h["val_loss"][^1]));
        Assert.That(ev["last_time_step_mse"], Is.EqualTo(h["val_last_time_step_mse"][^1]));

        var m2 = ChapterModels.WaveNet();
        m2.Compile(new Nadam(), "mse");
        var h2 = m2.Fit(x, y, epochs: 2, verbose: 0);
        Assert.That(h2.Keys, Is.EqualTo(new[] { "loss" }));
        Assert.That(h2["loss"], Has.Count.EqualTo(2));
    }

    /// <summary>A frozen (learning rate 0) 3-step linear model whose every batch loss can be computed by hand.</summary>
    private static (Sequential Model, Tensor X, Tensor Y, double[] SqErr) FrozenLinear(int n)
    {
        var m = new Sequential(new Flatten(inputShape: [3, 1]), new Dense(1));
        m.Build();
        m.SetWeights(Tensor.FromArray([0.5f, 0.25f, -1f], 3, 1), Tensor.FromArray([0.125f], 1));
        var xs = new float[n * 3];
        var ys = new float[n];
        var sq = new double[n];
        for (int i = 0; i < n; i++)
        {
            xs[3 * i] = (i % 7) * 0.1f;
            xs[3 * i + 1] = (i % 5) * 0.2f - 0.3f;
            xs[3 * i + 2] = (i % 3) * 0.05f;
            // The last samples are far off, so the partial last batch has a much larger loss than the others.
            ys[i] = i >= n - 6 ? 3f + i % 2 : 0.1f * (i % 4);
            double pred = 0.5 * xs[3 * i] + 0.25 * xs[3 * i + 1] - 1.0 * xs[3 * i + 2] + 0.125;
            sq[i] = (pred - ys[i]) * (pred - ys[i]);
        }
        m.Compile(new TestSgd(0.0), "mse", "mse");
        return (m, Tensor.FromArray(xs, n, 3, 1), Tensor.FromArray(ys, n, 1), sq);
    }

    [TestCase(70)]   // batches 32, 32, 6
    [TestCase(65)]   // batches 32, 32, 1 (the last one is a single sample in one shard)
    [TestCase(20)]   // a single partial batch
    public void EpochLoss_IsTheSampleWeightedMeanOfBatchLosses(int n)
    {
        var (m, x, y, sq) = FrozenLinear(n);
        var running = new List<double>();
        var cb = new LambdaCallback { BatchEnd = (_, _, logs) => running.Add(logs["loss"]) };
        var h = m.Fit(x, y, epochs: 2, batchSize: 32, shuffle: false, validationData: (x, y), callbacks: [cb], verbose: 0);

        // By hand: L_b = mean of the batch's squared errors; epoch loss = Σ n_b·L_b / Σ n_b.
        var batchLoss = new List<(int Count, double Loss)>();
        for (int s = 0; s < n; s += 32)
        {
            int c = Math.Min(32, n - s);
            batchLoss.Add((c, sq.Skip(s).Take(c).Average()));
        }
        double weighted = batchLoss.Sum(b => b.Count * b.Loss) / n;
        double unweighted = batchLoss.Average(b => b.Loss);
        if (batchLoss.Count > 1) Assert.That(Math.Abs(weighted - unweighted), Is.GreaterThan(0.1 * weighted), "the test data discriminates the two averages");

        Assert.That(h["loss"][0], Is.EqualTo(weighted).Within(1e-6 * weighted));
        Assert.That(h["loss"][1], Is.EqualTo(h["loss"][0]), "frozen model: same loss each epoch");
        Assert.That(h["mse"][0], Is.EqualTo(weighted).Within(1e-6 * weighted), "the mse metric is the mean over all samples");

        // The running value passed to OnBatchEnd is the weighted mean of the batches so far.
        Assert.That(running, Has.Count.EqualTo(2 * batchLoss.Count));
        for (int b = 0; b < batchLoss.Count; b++)
        {
            var seen = batchLoss.Take(b + 1).ToList();
            double expected = seen.Sum(p => p.Count * p.Loss) / seen.Sum(p => p.Count);
            Assert.That(running[b], Is.EqualTo(expected).Within(1e-6 * expected), $"after batch {b}");
        }

        // Validation uses the same averaging, and equals Evaluate.
        Assert.That(h["val_loss"][0], Is.EqualTo(weighted).Within(1e-6 * weighted));
        Assert.That(m.Evaluate(x, y)["loss"], Is.EqualTo(h["val_loss"][1]));
        Assert.That(m.Evaluate(x, y, batchSize: 7)["loss"], Is.EqualTo(weighted).Within(1e-6 * weighted));
    }

    [Test]
    public void EpochLoss_WithShuffling_IsStillTheMeanOverAllSamples()
    {
        var (m, x, y, sq) = FrozenLinear(70);
        var h = m.Fit(x, y, epochs: 1, batchSize: 32, shuffle: true, verbose: 0);
        Assert.That(h["loss"][0], Is.EqualTo(sq.Average()).Within(1e-6 * sq.Average()));
    }

    // ------------------------------------------------------------------ Predict

    [Test]
    public void Predict_InBatches_EqualsCallOnTheWholeSet()
    {
        var (x, _) = SeqSlice(45);
        foreach (var m in new[] { ChapterModels.Gru(), ChapterModels.WaveNet(), ChapterModels.LnRnn() })
        {
            m.Build();
            var whole = m.Call(x).ToFloatArray();
            foreach (int bs in new[] { 1, 7, 32, 45, 100 })
            {
                var p = m.Predict(x, batchSize: bs);
                Assert.That(p.Shape, Is.EqualTo(new Shape(45, 50, 10)), m.Name);
                Assert.That(p.ToFloatArray(), Is.EqualTo(whole).Within(1e-6f), $"{m.Name}, batch size {bs}");
            }
        }
        var lin = ChapterModels.Linear();
        var (x1, _) = ChapterSlices.Take(ChapterSlices.OneStep.Valid, 33);
        lin.Build();
        Assert.That(lin.Predict(x1).ToFloatArray(), Is.EqualTo(lin.Call(x1).ToFloatArray()).Within(1e-6f));
        var flat = lin.Predict(ChapterSlices.OneStep.Valid.X.AsSpan(0, 33 * 50).ToArray(), 33, 50, 1);
        Assert.That(flat, Has.Length.EqualTo(33));
    }

    [Test]
    public void TrainedOn50Steps_PredictsOn60Steps_ForRecurrentAndCausalModels()
    {
        var (x, y) = SeqSlice(64);
        var ten = ChapterSlices.TenStep.Valid;
        const int n = 5;
        // Full 60-step series: the 50 input steps followed by the 10 target steps.
        var x60 = new float[n * 60];
        for (int i = 0; i < n; i++)
        {
            ten.X.AsSpan(i * 50, 50).CopyTo(x60.AsSpan(i * 60));
            ten.Y.AsSpan(i * 10, 10).CopyTo(x60.AsSpan(i * 60 + 50));
        }
        var t60 = Tensor.FromArray(x60, n, 60, 1);
        var t50 = ChapterSlices.Take(ten, n).X;

        foreach (var (m, len60, len50) in new[]
        {
            (ChapterModels.SeqToSeq(), 60, 50), (ChapterModels.Lstm(), 60, 50), (ChapterModels.LnRnn(), 60, 50),
            (ChapterModels.ConvGru(), 29, 24), (ChapterModels.WaveNet(), 60, 50),
        })
        {
            m.Compile(new Nadam(), "mse");
            var yy = m.Name == "conv_rnn" ? Tensor.Slice(y, 1, 3, null, 2) : y;
            m.Fit(x, yy, epochs: 1, verbose: 0);
            var p60 = m.Predict(t60);
            var p50 = m.Predict(t50);
            Assert.That(p60.Shape, Is.EqualTo(new Shape(n, len60, 10)), m.Name);
            Assert.That(p50.Shape, Is.EqualTo(new Shape(n, len50, 10)), m.Name);
            // Causal models: the first steps of the longer input give the same outputs.
            var head = Tensor.Slice(p60, 1, 0, len50).ToFloatArray();
            Assert.That(head, Is.EqualTo(p50.ToFloatArray()).Within(1e-5f), $"{m.Name}: outputs for the shared prefix");
        }

        var seqToVec = ChapterModels.SeqToVector();
        seqToVec.Build();
        Assert.That(seqToVec.Predict(t60).Shape, Is.EqualTo(new Shape(n, 10)));

        // The linear model declares 50 steps and rejects 60 with a clear message.
        var lin = ChapterModels.Linear();
        lin.Build();
        var ex = Assert.Throws<ShapeMismatchException>(() => lin.Predict(t60));
        Assert.That(ex!.Message, Does.Contain("(samples, 50, 1)").And.Contain("(5, 60, 1)"));
    }

    [Test]
    public void CallOnAnUnbuiltModel_KeepsTheDeclaredUnknownLength()
    {
        // The first call builds the model; the declared [null, 1] must survive, so longer sequences still work.
        var (x, _) = SeqSlice(3);
        var m = ChapterModels.SeqToSeq();
        var y = m.Call(x);
        Assert.That(y.Shape, Is.EqualTo(new Shape(3, 50, 10)));
        Assert.That(m.InputShape, Is.EqualTo(new int?[] { null, 1 }));
        Assert.That(m.Summary(), Does.Contain("(None, None, 20)"));
        var x60 = Tensor.Concat(1, x, Tensor.Slice(x, 1, 0, 10));
        Assert.That(m.Predict(x60).Shape, Is.EqualTo(new Shape(3, 60, 10)));

        // Without a declared shape, the data's shape is used.
        var plain = new Sequential(new SimpleRNN(2), new Dense(1));
        plain.Call(x);
        Assert.That(plain.InputShape, Is.EqualTo(new int?[] { 50, 1 }));
    }

    // ------------------------------------------------------------------ weights

    [Test]
    public void GetWeightsSetWeights_RoundTrip()
    {
        var (x, _) = SeqSlice(8);
        var a = ChapterModels.LnRnn(seed: 1);
        var b = ChapterModels.LnRnn(seed: 2);
        a.Build();
        b.Build();
        Assert.That(b.Predict(x).ToFloatArray(), Is.Not.EqualTo(a.Predict(x).ToFloatArray()));
        var w = a.GetWeights();
        Assert.That(w, Has.Length.EqualTo(12));
        b.SetWeights(w);
        AssertBitIdentical(a, b, "after SetWeights");
        Assert.That(b.Predict(x).ToFloatArray(), Is.EqualTo(a.Predict(x).ToFloatArray()));

        // GetWeights returns copies: changing the model afterwards does not change them.
        var before = w[0].ToFloatArray();
        a.Weights[0].AsSpan<float>()[0] += 1f;
        Assert.That(w[0].ToFloatArray(), Is.EqualTo(before));

        // Float64 values are accepted and rounded.
        b.SetWeights(a.GetWeights().Select(t => t.Copy(DType.Float64)).ToArray());
        AssertBitIdentical(a, b, "after SetWeights from float64");
    }

    [Test]
    public void SetWeights_WrongCountOrShape_IsANamedErrorAndChangesNothing()
    {
        var m = ChapterModels.Lstm();
        m.Build();
        var snapshot = Bits(m);
        var w = m.GetWeights();

        var ex = Assert.Throws<ArgumentException>(() => m.SetWeights(w[..^1]));
        Assert.That(ex!.Message, Does.Contain("expected 8").And.Contain("got 7"));

        var bad = m.GetWeights().Select(t => Tensor.Full(t.Shape, 0.5)).ToArray();
        bad[4] = Tensor.Zeros(new Shape(80, 20));   // lstm_1/recurrent_kernel is (20, 80)
        var ex2 = Assert.Throws<ShapeMismatchException>(() => m.SetWeights(bad));
        Assert.That(ex2!.Message, Does.Contain("lstm_1/recurrent_kernel").And.Contain("(20, 80)").And.Contain("(80, 20)"));
        Assert.That(Bits(m), Is.EqualTo(snapshot), "nothing was assigned, not even the weights before the bad one");

        var unbuilt = ChapterModels.Lstm();
        Assert.Throws<InvalidOperationException>(() => unbuilt.SetWeights(w));
    }

    [Test]
    public void LayerSetWeights_Errors()
    {
        var dense = new Dense(3);
        Assert.Throws<InvalidOperationException>(() => dense.SetWeights(Tensor.Zeros(new Shape(2, 3)), Tensor.Zeros(new Shape(3))));
        dense.Build([2]);
        var ex = Assert.Throws<ShapeMismatchException>(() => dense.SetWeights(Tensor.Zeros(new Shape(3, 3)), Tensor.Zeros(new Shape(3))));
        Assert.That(ex!.Message, Does.Contain("kernel"));
        var ex2 = Assert.Throws<ArgumentException>(() => dense.SetWeights(Tensor.Zeros(new Shape(2, 3))));
        Assert.That(ex2!.Message, Does.Contain("kernel (2, 3)").And.Contain("bias (3,)"));
    }
}
