using Rnnx.Diagnostics;
using Rnnx.Layers;
using Rnnx.Losses;
using Rnnx.Models;
using Rnnx.Optimizers;
using Rnnx.Random;
using Rnnx.Saving;
using Rnnx.Tests.Saving;
using Rnnx.Tests.TestUtilities;
using static Rnnx.Tests.Layers.Recurrent.RecurrentTestUtil;

namespace Rnnx.Tests.Layers.Recurrent;

/// <summary>
/// <c>dropout</c> and <c>recurrent_dropout</c> of SimpleRNN, LSTM and GRU with Keras 3's semantics (keras-team/keras,
/// keras/src/layers/rnn/dropout_rnn_cell.py, simple_rnn.py, lstm.py, gru.py): masks drawn once per sequence and reused at
/// every step; with recurrent dropout LSTM and GRU use one mask per gate (implementation 1), otherwise one input mask
/// shared by the gates. The fused ops take the masks (input and recurrent) and match the composed step loop.
/// </summary>
public class RecurrentDropoutTests
{
    private static readonly CellKind[] Kinds = [CellKind.SimpleTanh, CellKind.SimpleRelu, CellKind.Lstm, CellKind.GruResetAfter, CellKind.GruResetBefore];

    private static readonly (double Dropout, double Recurrent)[] Rates = [(0.3, 0), (0, 0.4), (0.3, 0.4)];

    private static IEnumerable<TestCaseData> Cases() =>
        from k in Kinds from r in Rates from back in new[] { false, true } select new TestCaseData(k, r.Dropout, r.Recurrent, back);

    [TestCaseSource(nameof(Cases))]
    public void FusedMatchesComposed_WithTheSameMasks(CellKind kind, double dropout, double recurrentDropout, bool goBackwards)
    {
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
        {
            var layer = Make(kind, 5, returnSequences: true, goBackwards: goBackwards, dropout: dropout, recurrentDropout: recurrentDropout);
            BuildRandom(layer, 3, dtype, seed: 60 + (uint)kind);
            var rng = new NumPyRandomState(61);
            var x = RandomTensor(rng, dtype, 1.0, 4, 6, 3).RequireGrad();
            var init = layer.Cell.StateSizes.Select(s => RandomTensor(rng, dtype, 0.8, 4, s).RequireGrad()).ToArray();
            // Each run is one training step in the same context, so both draw the same masks (a second call within one
            // step would draw anew, as a shared layer does).
            Pass Step(bool fusedKernel)
            {
                using var ctx = TrainingContext.Enter(new TrainingContext(Seed: 5, Step: 9, FirstRow: 0));
                return Run(layer, x, init, fused: fusedKernel, training: true);
            }
            var composed = Step(false);
            var fused = Step(true);
            // Same operations per element in the forward pass; the fused backward sums over steps and gates in another
            // order (one GEMM over all B·T rows), hence the tolerances of the fused-kernel tests.
            var (rtol, atol) = dtype == DType.Float64 ? (1e-10, 1e-12) : (1e-5, 1e-6);
            AssertClose(fused.Output, composed.Output, rtol, atol, $"{dtype} output");
            for (int i = 0; i < composed.Grads.Count; i++)
                AssertClose(fused.Grads[i].Values, composed.Grads[i].Values, rtol, atol, $"{dtype} d/d {composed.Grads[i].Name}");
            var plain = Run(layer, x, init, fused: true, training: false);
            Assert.That(fused.Output, Is.Not.EqualTo(plain.Output), "training drops, inference does not");
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void Float64Gradients_WithFixedMasks(CellKind kind, double dropout, double recurrentDropout, bool goBackwards)
    {
        var layer = Make(kind, 3, returnSequences: true, goBackwards: goBackwards, dropout: dropout, recurrentDropout: recurrentDropout);
        BuildRandom(layer, 3, DType.Float64, seed: 70 + (uint)kind);
        var rng = new NumPyRandomState(71);
        var x = RandomTensor(rng, DType.Float64, 1.0, 2, 4, 3).RequireGrad();
        var init = layer.Cell.StateSizes.Select(s => RandomTensor(rng, DType.Float64, 0.7, 2, s).RequireGrad()).ToArray();
        Tensor Loss()
        {
            // Every evaluation is the same training step: the same masks each time.
            using var ctx = TrainingContext.Enter(new TrainingContext(Seed: 1, Step: 2, FirstRow: 3));
            var (y, states) = layer.Run(x, init, training: true);
            var l = Probe(y, 11);
            for (int i = 0; i < states.Length; i++) l += Probe(states[i], 20 + (uint)i);
            return l;
        }
        var result = GradientChecker.Check(Loss, GradientCheckOptions.Default with { RecordNumeric = false },
            [x, .. layer.Weights.Select(p => p.Value), .. init]);
        Assert.That(result.Elements, Is.EqualTo(x.Size + layer.CountParams() + init.Sum(s => s.Size)));
    }

    /// <summary>
    /// Dropout with a step mask (variable-length sequences in training) runs the fused masked op, not the step loop:
    /// input dropout alone (one mask shared by the gates, x ⊙ m before the op), recurrent dropout and both (one mask per
    /// gate, in the op, rows gathered in the packed order). It equals the composed step loop with the same masks and
    /// lengths, values and gradients, at the fused tolerances; float64 central differences through it.
    /// </summary>
    [TestCaseSource(nameof(Cases))]
    public void DropoutWithAStepMask_RunsFused(CellKind kind, double dropout, double recurrentDropout, bool goBackwards)
    {
        var mask = Tensor.FromArray(new double[] { 1, 0, 1, 1, 0, 1, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1 }, 4, 6);
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
        {
            var layer = Make(kind, 5, returnSequences: true, goBackwards: goBackwards, dropout: dropout, recurrentDropout: recurrentDropout);
            BuildRandom(layer, 3, dtype, seed: 90 + (uint)kind);
            var rng = new NumPyRandomState(91);
            var x = RandomTensor(rng, dtype, 1.0, 4, 6, 3).RequireGrad();
            var init = layer.Cell.StateSizes.Select(s => RandomTensor(rng, dtype, 0.8, 4, s).RequireGrad()).ToArray();
            var m = mask.Copy(dtype);
            Pass Step(bool fusedKernel)
            {
                using var ctx = TrainingContext.Enter(new TrainingContext(Seed: 4, Step: 2, FirstRow: 0));
                return Run(layer, x, init, fused: fusedKernel, training: true, mask: m);
            }
            var composed = Step(false);
            var fused = Step(true);
            Assert.That(fused.TapeEntries, Is.LessThan(composed.TapeEntries / 4), "one fused op, not a step loop");
            var (rtol, atol) = dtype == DType.Float64 ? (1e-10, 1e-12) : (1e-5, 1e-6);
            AssertClose(fused.Output, composed.Output, rtol, atol, $"{dtype} output");
            for (int i = 0; i < composed.Grads.Count; i++)
                AssertClose(fused.Grads[i].Values, composed.Grads[i].Values, rtol, atol, $"{dtype} d/d {composed.Grads[i].Name}");
            var plain = Run(layer, x, init, fused: true, training: false, mask: m);
            Assert.That(fused.Output, Is.Not.EqualTo(plain.Output), "training drops, inference does not");
            if (dtype != DType.Float64) continue;
            layer.UseFusedKernel = true;
            Tensor Loss()
            {
                using var ctx = TrainingContext.Enter(new TrainingContext(Seed: 4, Step: 2, FirstRow: 0));
                var (y, states) = layer.Run(x, init, training: true, mask: m);
                var l = Probe(y, 11);
                for (int i = 0; i < states.Length; i++) l += Probe(states[i], 20 + (uint)i);
                return l;
            }
            var result = GradientChecker.Check(Loss, GradientCheckOptions.Default with { RecordNumeric = false }, [x, .. layer.Weights.Select(p => p.Value), .. init]);
            Assert.That(result.Elements, Is.EqualTo(x.Size + layer.CountParams() + init.Sum(s => s.Size)));
        }
    }

    [TestCase(CellKind.SimpleTanh)]
    [TestCase(CellKind.Lstm)]
    [TestCase(CellKind.GruResetAfter)]
    [TestCase(CellKind.GruResetBefore)]
    public void RateZero_IsNoDropoutBitForBit(CellKind kind)
    {
        var withZero = Make(kind, 4, returnSequences: true, dropout: 0, recurrentDropout: 0);
        BuildRandom(withZero, 2, DType.Float32, seed: 80);
        var x = RandomTensor(new NumPyRandomState(81), DType.Float32, 1.0, 3, 5, 2).RequireGrad();
        using var ctx = TrainingContext.Enter(new TrainingContext(1, 1, 0));
        var trained = Run(withZero, x, null, fused: true, training: true);
        var inferred = Run(withZero, x, null, fused: true, training: false);
        Assert.That(trained.Output, Is.EqualTo(inferred.Output));
        for (int i = 0; i < trained.Grads.Count; i++) Assert.That(trained.Grads[i].Values, Is.EqualTo(inferred.Grads[i].Values), trained.Grads[i].Name);
    }

    [Test]
    public void Masks_AreReusedAtEveryStep_AndFreshEveryTrainingStep()
    {
        // A linear SimpleRNN with R = 0 and W = I: h_t = x_t ⊙ m, so the output shows the input mask at every step.
        var layer = new SimpleRNN(6, Activation.Linear, useBias: false, returnSequences: true, dropout: 0.5);
        layer.Build([null, 6], DType.Float64);
        var eye = new double[36];
        for (int i = 0; i < 6; i++) eye[i * 7] = 1;
        layer.SetWeights(Tensor.FromArray(eye, 6, 6), Tensor.Zeros(new Shape(6, 6), DType.Float64));
        var x = Tensor.Ones(new Shape(50, 4, 6), DType.Float64);
        double[] Draw(long step)
        {
            using var ctx = TrainingContext.Enter(new TrainingContext(3, step, 0));
            return layer.Call(x, training: true).ToDoubleArray();
        }
        var y = Draw(0);
        for (int b = 0; b < 50; b++)
            for (int t = 1; t < 4; t++)
                Assert.That(y.AsSpan((b * 4 + t) * 6, 6).ToArray(), Is.EqualTo(y.AsSpan(b * 4 * 6, 6).ToArray()), $"sample {b} step {t}");
        Assert.That(y.All(v => v == 0 || v == 2), "inverted dropout: kept inputs scaled by 1 / (1 − 0.5)");
        double kept = y.Count(v => v != 0) / (double)y.Length;
        Assert.That(kept, Is.EqualTo(0.5).Within(5 * Math.Sqrt(0.25 / 300)), "keep rate over 300 mask elements");
        Assert.That(Draw(1), Is.Not.EqualTo(y), "a new step draws new masks");
        Assert.That(Draw(0), Is.EqualTo(y), "the same step draws the same masks");
    }

    [Test]
    public void Settings_RoundTripThroughAModelFile()
    {
        var m = new Sequential(new SimpleRNN(3, returnSequences: true, inputShape: [null, 2], dropout: 0.1, recurrentDropout: 0.2, seed: 4),
            new LSTM(3, returnSequences: true, dropout: 0.25, recurrentDropout: 0.5), new GRU(2, resetAfter: false, returnSequences: true, recurrentDropout: 0.125, seed: 7),
            new RNN(new LSTMCell(2, dropout: 0.375)), new Dense(1));
        m.Build();
        var path = Path.Combine(TestModels.TempDir(), "recurrent_dropout.rnnx");
        m.Save(path);
        var loaded = Sequential.Load(path);
        (double, double, int?) Of(Layer l) => ((RNN)l).Cell switch
        {
            SimpleRNNCell c => (c.Dropout, c.RecurrentDropout, c.Seed),
            LSTMCell c => (c.Dropout, c.RecurrentDropout, c.Seed),
            GRUCell c => (c.Dropout, c.RecurrentDropout, c.Seed),
            _ => throw new InvalidOperationException(),
        };
        Assert.That(Of(loaded.Layers[0]), Is.EqualTo((0.1, 0.2, (int?)4)));
        Assert.That(Of(loaded.Layers[1]), Is.EqualTo((0.25, 0.5, (int?)null)));
        Assert.That(Of(loaded.Layers[2]), Is.EqualTo((0.0, 0.125, (int?)7)));
        Assert.That(Of(loaded.Layers[3]), Is.EqualTo((0.375, 0.0, (int?)null)));
        Assert.That(m.Layers[1].GetConfig().ToJson().ToJsonString(), Does.Contain("\"dropout\":0.25").And.Contain("\"recurrent_dropout\":0.5").And.Contain("\"seed\":null"));
    }

    [Test]
    public void BadRates_AreRefusedNamingTheLayer()
    {
        foreach (var rate in new[] { -0.5, 1.0, double.NaN })
        {
            Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => _ = new LSTM(3, dropout: rate))!.Message, Does.Contain("LSTM").And.Contain("dropout"));
            Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => _ = new GRU(3, recurrentDropout: rate, name: "enc"))!.Message,
                Does.Contain("GRU 'enc'").And.Contain("recurrentDropout"));
            Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => _ = new SimpleRNN(3, recurrentDropout: rate))!.Message, Does.Contain("SimpleRNN"));
            Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => _ = new LSTMCell(3, dropout: rate))!.Message, Does.Contain("LSTMCell"));
        }
    }

    private static Sequential DropoutLstm(int seed = 42) => new(
        new LSTM(20, returnSequences: true, inputShape: [null, 1], dropout: 0.2, recurrentDropout: 0.2),
        new LSTM(20, returnSequences: true, dropout: 0.2, recurrentDropout: 0.2),
        new TimeDistributed(new Dense(10))) { Seed = seed };

    private static (Tensor X, Tensor Y) Batch(int n, int steps)
    {
        var rng = new NumPyRandomState(12);
        return (Tensor.FromArray(rng.Randn(n, steps, 1).Select(v => (float)v).ToArray(), n, steps, 1),
                Tensor.FromArray(rng.Randn(n, steps, 10).Select(v => (float)v).ToArray(), n, steps, 10));
    }

    [Test]
    public void Fit_IsBitIdenticalAcrossThreadCounts()
    {
        var (x, y) = Batch(40, 12);
        AssertFitIsBitIdentical(() => DropoutLstm(), x, y, [1, 2, 4]);
    }

    /// <summary>Two epochs of Fit (4 shards, batches of 16) give the same weights bit for bit for every thread count.</summary>
    private static void AssertFitIsBitIdentical(Func<Sequential> create, Tensor x, Tensor y, int[] threadCounts)
    {
        float[][]? reference = null;
        foreach (int threads in threadCounts)
        {
            var m = create();
            m.Threads = threads;
            m.Shards = 4;
            m.Compile(new Nadam(), Loss.MeanSquaredError);
            m.Fit(x, y, epochs: 2, batchSize: 16, verbose: 0);
            var w = m.GetWeights().Select(t => t.ToFloatArray()).ToArray();
            if (reference is null) reference = w;
            else
                for (int i = 0; i < w.Length; i++) Assert.That(w[i], Is.EqualTo(reference[i]), $"threads {threads}: weight {i}");
        }
    }

    /// <summary>
    /// Padded sequences (right-padded with zeros, lengths 3..12, <see cref="Masking"/>) through two recurrent layers of one
    /// kind with dropout and recurrent dropout: the fused masked ops with per-gate masks.
    /// </summary>
    private static Sequential MaskedDropoutModel(CellKind kind)
    {
        RNN Layer() => Make(kind, 12, returnSequences: true, dropout: 0.2, recurrentDropout: 0.2);
        return new Sequential(new Masking(inputShape: [null, 1]), Layer(), Layer(), new TimeDistributed(new Dense(3))) { Seed = 42 };
    }

    private static (Tensor X, Tensor Y) PaddedBatch(int n, int steps)
    {
        var (x, y) = Batch(n, steps);
        var xs = x.ToFloatArray();
        for (int b = 0; b < n; b++)
            for (int t = 3 + b * 7 % (steps - 2); t < steps; t++) xs[b * steps + t] = 0;
        return (Tensor.FromArray(xs, n, steps, 1), Tensor.FromArray(y.ToFloatArray().Take(n * steps * 3).ToArray(), n, steps, 3));
    }

    [TestCase(CellKind.SimpleTanh)]
    [TestCase(CellKind.Lstm)]
    [TestCase(CellKind.GruResetAfter)]
    [TestCase(CellKind.GruResetBefore)]
    public void MaskedSequences_Fit_IsBitIdenticalAcrossThreadCounts(CellKind kind)
    {
        var (x, y) = PaddedBatch(40, 12);
        AssertFitIsBitIdentical(() => MaskedDropoutModel(kind), x, y, [1, 2, 3, 4]);
    }

    [TestCase(CellKind.SimpleTanh)]
    [TestCase(CellKind.Lstm)]
    [TestCase(CellKind.GruResetAfter)]
    [TestCase(CellKind.GruResetBefore)]
    public void MaskedSequences_SteadyStateTrainingStep_AllocatesNothing(CellKind kind)
    {
        var (x, y) = PaddedBatch(32, 20);
        var m = MaskedDropoutModel(kind);
        m.Threads = 1;
        m.Compile(new Nadam(), Loss.MeanSquaredError);
        long perStep = SteadyStateAllocation.BytesPerRun(() => m.TrainOnBatch(x, y), warmUps: 3, measured: 10).Max();
        Assert.That(perStep, Is.EqualTo(0), $"{perStep} bytes per training step (mask rows gathered, gate blocks packed: all in tape scratch)");
    }

    [Test]
    public void PredictAndEvaluate_DoNotDrop()
    {
        var (x, y) = Batch(8, 10);
        var m = DropoutLstm();
        m.Compile(new Nadam(), Loss.MeanSquaredError);
        m.Build();
        var plain = new Sequential(new LSTM(20, returnSequences: true, inputShape: [null, 1]), new LSTM(20, returnSequences: true),
            new TimeDistributed(new Dense(10)));
        plain.Build();
        plain.SetWeights(m.GetWeights());
        plain.Compile(new Nadam(), Loss.MeanSquaredError);
        Assert.That(m.Predict(x).ToFloatArray(), Is.EqualTo(plain.Predict(x).ToFloatArray()));
        Assert.That(m.Evaluate(x, y)["loss"], Is.EqualTo(plain.Evaluate(x, y)["loss"]));
        Assert.That(m.TrainOnBatch(x, y), Is.Not.EqualTo(plain.TrainOnBatch(x, y)), "training drops");
    }

    [Test]
    public void SteadyStateTrainingStep_AllocatesNothing()
    {
        var (x, y) = Batch(32, 50);
        var m = DropoutLstm();
        m.Threads = 1;
        m.Compile(new Nadam(), Loss.MeanSquaredError);
        long perStep = SteadyStateAllocation.BytesPerRun(() => m.TrainOnBatch(x, y), warmUps: 3, measured: 10).Max();
        Assert.That(perStep, Is.EqualTo(0), $"{perStep} bytes per training step (masks drawn, gate blocks packed: all in tape scratch)");
    }
}
