using Rnnx.Cli;
using Rnnx.Diagnostics;
using Rnnx.Layers;
using Rnnx.Losses;
using Rnnx.Models;
using Rnnx.Random;

namespace Rnnx.Tests.Diagnostics;

/// <summary>
/// The public gradient checker on a layer, a cell and a model — the chapter's custom LNSimpleRNNCell as
/// docs/layers.md shows it — and its report of a wrong gradient.
/// </summary>
public sealed class GradientCheckerTests
{
    private static Tensor Random(uint seed, params int[] shape) => Tensor.FromArray(new NumPyRandomState(seed).Randn(shape), shape);

    private static void Randomize(IEnumerable<Parameter> weights, uint seed)
    {
        var rng = new NumPyRandomState(seed);
        foreach (var p in weights)
        {
            var s = p.AsSpan<double>();
            for (int i = 0; i < s.Length; i++) s[i] = 0.5 * rng.StandardNormal();
        }
    }

    [Test]
    public void DocsExample_LNSimpleRNNCell()
    {
        // docs/layers.md, "Checking gradients": the cell, its layer and a model, in float64.
        var cell = new LNSimpleRNNCell(4);
        var layer = new RNN(cell, returnSequences: true);
        layer.Build([null, 3], DType.Float64);
        Randomize(layer.Weights, 1);   // so zero biases and unit gains do not hide terms

        var x = Random(2, 2, 5, 3);                              // (batch 2, 5 steps, 3 features)
        GradientCheckResult r = GradientChecker.CheckLayer(layer, x);
        TestContext.Out.WriteLine(r.Report());
        Assert.That(r.Passed);
        Assert.That(r.Elements, Is.EqualTo(x.Size + layer.CountParams()));
        Assert.That(r.Worst.Select(e => e.Input).Distinct(), Is.SubsetOf(new[] { "input" }.Concat(layer.NamedWeights().Select(w => w.Name))));

        var step = GradientChecker.CheckCell(cell, Random(3, 2, 3), [Random(4, 2, 4)]);   // one step: input, state, weights
        Assert.That(step.Elements, Is.EqualTo(2 * 3 + 2 * 4 + cell.CountParams()));

        var model = new Sequential(new RNN(new LNSimpleRNNCell(4), inputShape: [null, 1]), new Dense(1));
        model.Build([null, 1], DType.Float64);
        Randomize(model.Weights, 5);
        var m = GradientChecker.CheckModel(model, Random(6, 3, 4, 1), Random(7, 3, 1), Loss.MeanSquaredError);
        Assert.That(m.Elements, Is.EqualTo(3 * 4 + model.CountParams()));
    }

    [Test]
    public void AWrongGradientIsReportedWithItsWorstEntries()
    {
        // x * x.Copy(): the copy is not recorded, so the tape gives x where the true derivative is 2x.
        var x = Random(8, 2, 3);
        var e = Assert.Throws<GradientCheckException>(() => GradientChecker.Check(() => x * x.Copy(), x))!;
        Assert.That(e.Result.Passed, Is.False);
        Assert.That(e.Result.Mismatches, Is.EqualTo(6));
        Assert.That(e.Message, Does.Contain("6 of 6 derivatives differ from central differences").And.Contain("analytic").And.Contain("numeric"));
        Assert.That(e.Result.Worst[0].ScaledError, Is.GreaterThan(1));
        Assert.That(e.Result.Report(), Does.StartWith("FAILED"));
    }

    [Test]
    public void BadArgumentsAreExplained()
    {
        var f32 = new Dense(2);
        f32.Build([3]);
        Assert.That(Assert.Throws<ArgumentException>(() => GradientChecker.CheckLayer(f32, Random(1, 2, 3)))!.Message, Does.Contain("need Float64"));
        Assert.That(Assert.Throws<ArgumentException>(() => GradientChecker.CheckLayer(new Dense(2), Random(1, 2, 3)))!.Message, Does.Contain("not built"));
        var cell = new LNSimpleRNNCell(2);
        new RNN(cell).Build([null, 1], DType.Float64);
        Assert.That(Assert.Throws<ArgumentException>(() => GradientChecker.CheckCell(cell, Random(1, 2, 1), []))!.Message, Does.Contain("has 1 state(s), got 0"));
    }

    [Test]
    public void NamedWeightsOfALayerAreItsKerasNames()
    {
        var lstm = new LSTM(3);
        lstm.Build([null, 2]);
        Assert.That(lstm.NamedWeights().Select(w => w.Name), Is.EqualTo(new[] { "lstm/kernel", "lstm/recurrent_kernel", "lstm/bias" }));
        var rnn = new RNN(new LNSimpleRNNCell(2), name: "rnn");
        rnn.Build([null, 1]);
        Assert.That(rnn.NamedWeights().Select(w => w.Name), Is.EqualTo(new[]
        {
            "rnn/ln_simple_rnn_cell/simple_rnn_cell/kernel", "rnn/ln_simple_rnn_cell/simple_rnn_cell/recurrent_kernel",
            "rnn/ln_simple_rnn_cell/simple_rnn_cell/bias", "rnn/ln_simple_rnn_cell/layer_normalization/gamma", "rnn/ln_simple_rnn_cell/layer_normalization/beta",
        }));
        var model = new Sequential(new RNN(new LNSimpleRNNCell(2), inputShape: [null, 1]), new Dense(1));
        model.Build();
        Assert.That(model.NamedWeights().Select(w => w.Name), Is.EqualTo(model.Layers.SelectMany(l => l.NamedWeights()).Select(w => w.Name)));
    }
}
