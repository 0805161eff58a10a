using Rnnx.Layers;
using Rnnx.Models;
using Rnnx.Random;
using Rnnx.Saving;
using Rnnx.Tests.Saving;
using static Rnnx.Tests.Layers.Recurrent.RecurrentTestUtil;

namespace Rnnx.Tests.Layers.Recurrent;

/// <summary>
/// PeepholeLSTMCell as tf.keras.experimental.PeepholeLSTMCell (tensorflow/python/keras/layers/recurrent.py: build adds
/// input_gate_peephole_weights, forget_gate_peephole_weights, output_gate_peephole_weights of shape (units,) with the
/// kernel initializer after the LSTMCell weights; _compute_carry_and_output_fused: i = σ(z0 + p_i c_{t−1}),
/// f = σ(z1 + p_f c_{t−1}), c = f c_{t−1} + i tanh(z2), o = σ(z3 + p_o c)): weights, the formula, fused == composed,
/// float64 gradient checks, every inference path, saving.
/// </summary>
public class PeepholeLSTMCellTests
{
    private static RNN Make(int units, bool returnSequences = false, bool goBackwards = false, bool useBias = true) =>
        new(new PeepholeLSTMCell(units, useBias: useBias), returnSequences, goBackwards: goBackwards);

    [Test]
    public void WeightsAreKerasNamesShapesAndOrder()
    {
        var cell = new PeepholeLSTMCell(3);
        cell.Build([2], DType.Float64, new NumPyRandomState(1));
        Assert.That(cell.Weights.Select(w => w.Name), Is.EqualTo(new[]
        {
            "kernel", "recurrent_kernel", "bias", "input_gate_peephole_weights", "forget_gate_peephole_weights", "output_gate_peephole_weights",
        }));
        Assert.That(cell.Weights.Skip(3).Select(w => w.Shape), Is.All.EqualTo(new Shape(3)));
        Assert.That(cell.CountParams(), Is.EqualTo(4 * 3 * (2 + 3 + 1) + 3 * 3));
        // glorot_uniform on a vector: fan_in = fan_out = units, limit √(6 / 2·units) = 1
        var peepholes = cell.Weights.Skip(3).SelectMany(w => w.Value.ToDoubleArray()).ToArray();
        Assert.That(peepholes, Is.All.InRange(-1.0, 1.0));
        Assert.That(peepholes.Distinct().Count(), Is.EqualTo(9));
        Assert.That(cell.RecurrentActivation, Is.SameAs(Activation.Sigmoid));
    }

    [Test]
    public void OneStepFollowsTheFormula([Values(false, true)] bool fused)
    {
        var layer = Make(2, returnSequences: true);
        BuildRandom(layer, 1, DType.Float64, seed: 3, scale: 0.9);
        layer.UseFusedKernel = fused;
        var x = RandomTensor(new NumPyRandomState(4), DType.Float64, 1.0, 1, 3, 1);
        var c0 = RandomTensor(new NumPyRandomState(5), DType.Float64, 1.0, 1, 2);
        var h0 = RandomTensor(new NumPyRandomState(6), DType.Float64, 1.0, 1, 2);
        var y = layer.Run(x, [h0, c0]).Output.ToDoubleArray();

        var w = layer.Weights.Select(p => p.Value.ToDoubleArray()).ToArray();   // kernel (1, 8), recurrent (2, 8), bias, p_i, p_f, p_o
        double[] h = h0.ToDoubleArray(), c = c0.ToDoubleArray(), xs = x.ToDoubleArray();
        static double S(double v) => 1 / (1 + Math.Exp(-v));
        var expected = new List<double>();
        for (int t = 0; t < 3; t++)
        {
            var z = new double[8];
            for (int g = 0; g < 8; g++) z[g] = xs[t] * w[0][g] + (h[0] * w[1][g] + h[1] * w[1][8 + g]) + w[2][g];
            double[] hn = new double[2], cn = new double[2];
            for (int j = 0; j < 2; j++)
            {
                double i = S(z[j] + w[3][j] * c[j]), f = S(z[2 + j] + w[4][j] * c[j]);
                cn[j] = f * c[j] + i * Math.Tanh(z[4 + j]);
                double o = S(z[6 + j] + w[5][j] * cn[j]);
                hn[j] = o * Math.Tanh(cn[j]);
            }
            (h, c) = (hn, cn);
            expected.AddRange(h);
        }
        AssertClose(y, expected.ToArray(), 1e-12, 1e-14, "outputs");
    }

    [Test]
    public void ZeroPeepholesGiveThePlainLstm([Values(false, true)] bool fused)
    {
        var peephole = Make(4, returnSequences: true);
        var plain = new LSTM(4, returnSequences: true);
        BuildRandom(peephole, 2, DType.Float64, seed: 7);
        plain.Build([null, 2], DType.Float64);
        plain.SetWeights(peephole.GetWeights().Take(3).ToArray());
        foreach (var p in peephole.Weights.Skip(3)) p.Assign(Tensor.Zeros(p.Shape, DType.Float64));
        peephole.UseFusedKernel = plain.UseFusedKernel = fused;
        var x = RandomTensor(new NumPyRandomState(8), DType.Float64, 1.0, 3, 6, 2);
        AssertClose(peephole.Call(x).ToDoubleArray(), plain.Call(x).ToDoubleArray(), 1e-15, 1e-15, "outputs");
    }

    [Test, Combinatorial]
    public void FusedEqualsComposed([Values(DType.Float64, DType.Float32)] DType dtype, [Values(false, true)] bool returnSequences,
        [Values(false, true)] bool goBackwards, [Values(false, true)] bool useBias)
    {
        var layer = Make(5, returnSequences, goBackwards, useBias);
        BuildRandom(layer, 3, dtype, seed: 11);
        var rng = new NumPyRandomState(12);
        var x = RandomTensor(rng, dtype, 1.0, 4, 7, 3).RequireGrad();
        var init = layer.Cell.StateSizes.Select(s => RandomTensor(rng, dtype, 0.7, 4, s).RequireGrad()).ToArray();
        var fused = RecurrentTestUtil.Run(layer, x, init, fused: true);
        var composed = RecurrentTestUtil.Run(layer, x, init, fused: false);
        double tol = dtype == DType.Float64 ? 1e-12 : 2e-5;
        Assert.That(fused.TapeEntries, Is.LessThan(composed.TapeEntries), "the fused path records one sequence op");
        AssertClose(fused.Output, composed.Output, tol, tol, "output");
        for (int i = 0; i < 2; i++) AssertClose(fused.States[i], composed.States[i], tol, tol, $"state {i}");
        Assert.That(fused.Grads.Select(g => g.Name), Is.EqualTo(composed.Grads.Select(g => g.Name)));
        for (int i = 0; i < fused.Grads.Count; i++) AssertClose(fused.Grads[i].Values, composed.Grads[i].Values, tol, tol, fused.Grads[i].Name);
    }

    [Test]
    public void WithDropoutFusedEqualsComposed([Values(0.0, 0.3)] double dropout, [Values(0.0, 0.25)] double recurrentDropout)
    {
        var layer = new RNN(new PeepholeLSTMCell(5, dropout: dropout, recurrentDropout: recurrentDropout, seed: 7), returnSequences: true);
        BuildRandom(layer, 3, DType.Float64, seed: 17);
        var rng = new NumPyRandomState(18);
        var x = RandomTensor(rng, DType.Float64, 1.0, 4, 6, 3).RequireGrad();
        var init = layer.Cell.StateSizes.Select(s => RandomTensor(rng, DType.Float64, 0.7, 4, s).RequireGrad()).ToArray();
        // Each run is the same training step, so both draw the same masks.
        RecurrentTestUtil.Pass Step(bool fusedKernel)
        {
            using var ctx = TrainingContext.Enter(new TrainingContext(Seed: 5, Step: 9, FirstRow: 0));
            return RecurrentTestUtil.Run(layer, x, init, fused: fusedKernel, training: true);
        }
        var composed = Step(false);
        var fused = Step(true);
        AssertClose(fused.Output, composed.Output, 1e-10, 1e-12, "output");
        for (int i = 0; i < fused.Grads.Count; i++) AssertClose(fused.Grads[i].Values, composed.Grads[i].Values, 1e-10, 1e-12, fused.Grads[i].Name);
        var config = layer.Cell.GetConfig();
        Assert.That(config.GetDouble("recurrent_dropout", 0), Is.EqualTo(recurrentDropout));
    }

    [Test, Combinatorial]
    public void FiniteDifferences([Values(false, true)] bool fused, [Values(false, true)] bool returnSequences, [Values(false, true)] bool goBackwards)
    {
        var layer = Make(3, returnSequences, goBackwards);
        BuildRandom(layer, 2, DType.Float64, seed: 13);
        layer.UseFusedKernel = fused;
        var rng = new NumPyRandomState(14);
        var x = RandomTensor(rng, DType.Float64, 1.0, 2, 4, 2).RequireGrad();
        var init = layer.Cell.StateSizes.Select(s => RandomTensor(rng, DType.Float64, 0.7, 2, s).RequireGrad()).ToArray();
        Assert.That(CheckGradients(layer, x, init), Is.EqualTo(x.Size + layer.CountParams() + init.Sum(s => s.Size)));
    }

    [Test]
    public void EveryInferencePathMatchesTheComposedStep([Values(1, 5, 70)] int batch)
    {
        // Batch 1 and batch ≥ 64 have their own LSTM inference paths without peepholes; the peephole cell takes the row path.
        var layer = Make(6, returnSequences: true);
        BuildRandom(layer, 2, DType.Float32, seed: 15);
        var x = RandomTensor(new NumPyRandomState(16), DType.Float32, 1.0, batch, 9, 2);
        layer.UseFusedKernel = true;
        var fused = layer.Call(x).ToDoubleArray();
        layer.UseFusedKernel = false;
        AssertClose(fused, layer.Call(x).ToDoubleArray(), 2e-5, 2e-5, $"batch {batch}");
    }

    [Test]
    public void SavedAndLoadedModelsPredictTheSame()
    {
        var m = new Sequential(new RNN(new PeepholeLSTMCell(4), returnSequences: true, inputShape: [null, 1]), new RNN(new PeepholeLSTMCell(3, useBias: false)), new Dense(1));
        m.Build();
        TestModels.Perturb(m, 5);
        var path = Path.Combine(TestModels.TempDir(), "peephole.rnnx");
        m.Save(path);
        var loaded = ModelIO.Load(path);
        Assert.That(((RNN)loaded.Layers[0]).Cell, Is.TypeOf<PeepholeLSTMCell>());
        Assert.That(loaded.NamedWeights().Select(w => w.Name), Is.EqualTo(m.NamedWeights().Select(w => w.Name)));
        Assert.That(loaded.NamedWeights().Select(w => w.Name), Does.Contain("rnn/peephole_lstm_cell/output_gate_peephole_weights"));
        var x = TestModels.Input([7, 1], 3, DType.Float32, seed: 6);
        Assert.That(loaded.Predict(x).ToFloatArray(), Is.EqualTo(m.Predict(x).ToFloatArray()));
        Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
    }

    [Test]
    public void BadShapesAreRefusedNamingTheLayerOrArgument()
    {
        var x = Tensor.Zeros(new Shape(2, 3, 1), DType.Float64);
        var h0 = Tensor.Zeros(new Shape(2, 4), DType.Float64);
        var k = Tensor.Zeros(new Shape(1, 16), DType.Float64);
        var r = Tensor.Zeros(new Shape(4, 16), DType.Float64);
        var ex = Assert.Throws<ShapeMismatchException>(() => Tensor.LstmSequence(x, k, r, null, h0, h0, default, Tensor.Zeros(new Shape(8), DType.Float64)));
        Assert.That(ex!.Message, Does.Contain("peepholes").And.Contain("(12,)").And.Contain("(8,)"));
        Assert.Throws<ArgumentException>(() => Tensor.LstmSequence(x, k, r, null, h0, h0, default, Tensor.Zeros(new Shape(12), DType.Float32)));

        var layer = new RNN(new PeepholeLSTMCell(4), name: "peep");
        layer.Build([null, 1], DType.Float64);
        var wrong = Assert.Throws<ShapeMismatchException>(() => layer.Call(Tensor.Zeros(new Shape(2, 3, 2), DType.Float64)));
        Assert.That(wrong!.Message, Does.Contain("peep").And.Contain("(2, 3, 2)"));
        var states = Assert.Throws<ShapeMismatchException>(() => layer.Run(x, [h0]));
        Assert.That(states!.Message, Does.Contain("peep").And.Contain("2 initial state"));
    }
}
