using Rnnx.Layers;
using Rnnx.Losses;
using Rnnx.Metrics;
using Rnnx.Models;
using Rnnx.Optimizers;
using Rnnx.Saving;
using Rnnx.Tests.Saving;
using Rnnx.Tests.TestUtilities;

namespace Rnnx.Tests.Models;

/// <summary>
/// Metrics per output and sample / class weights with several outputs, as Keras 3: keras/src/trainers/compile_utils.py
/// (CompileMetrics names a metric <c>&lt;output&gt;_&lt;metric&gt;</c>; CompileLoss.call weights each output's loss by its
/// own sample weight and "For multi-outputs, repeat sample weights for n outputs"), and
/// keras/src/trainers/data_adapters/tf_dataset_adapter.py ("`class_weight` is only supported for Models with a single
/// output", tested in tf_dataset_adapter_test.py test_nested_y_with_class_weight).
/// </summary>
public class PerOutputCompileTests
{
    /// <summary>A refused compile (a metric name twice) leaves the previous compile settings as they were.</summary>
    [Test]
    public void ARefusedCompileLeavesThePreviousSettings()
    {
        var m = TestModels.SeriesAndStatic();
        var adam = new Adam(0.01);
        var losses = new[] { Loss.MeanAbsoluteError, Loss.MeanSquaredError };
        m.Compile(adam, losses, [2.0, 0.5], Metric.MeanAbsoluteError);
        var e = Assert.Throws<ArgumentException>(() => m.Compile(new Sgd(0.1), Loss.Huber(), Metric.MeanAbsoluteError, Metric.MeanAbsoluteError))!;
        Assert.That(e.Message, Does.Contain("used twice"));
        Assert.That(m.Optimizer, Is.SameAs(adam));
        Assert.That(m.Loss, Is.SameAs(losses[0]));
        Assert.That(m.OutputLosses, Is.EqualTo(losses));
        Assert.That(m.LossWeights, Is.EqualTo(new[] { 2.0, 0.5 }));
        Assert.That(m.Metrics, Is.EqualTo(new[] { Metric.MeanAbsoluteError }));
    }

    /// <summary>Per sample: the mean over the last axis of f(target − prediction), by hand from the arrays.</summary>
    private static double[] PerSample(Tensor y, Tensor p, Func<double, double> f)
    {
        var (yv, pv) = (y.ToDoubleArray(), p.ToDoubleArray());
        int n = y.Shape[0], width = yv.Length / n;
        var result = new double[n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < width; j++) result[i] += f(yv[i * width + j] - pv[i * width + j]);
            result[i] /= width;
        }
        return result;
    }

    [Test]
    public void MetricsPerOutputAreKeyedAndComputedPerOutputAndSurviveSaving()
    {
        var (x, y) = TestModels.SeriesAndStaticData(10, 3, DType.Float64);
        var m = TestModels.SeriesAndStatic();
        m.Build(dtype: DType.Float64);
        m.Compile(new Adam(0.01), [Loss.MeanSquaredError, Loss.MeanSquaredError], null,
            [[Metric.MeanAbsoluteError], [Metric.MeanSquaredError, Metric.MeanAbsoluteError]]);
        var p = m.Predict(x, batchSize: 10);
        var r = m.Evaluate(x, y, batchSize: 10);
        Assert.That(r.Keys, Is.EquivalentTo(new[] { "loss", "out_a_loss", "out_b_loss", "out_a_mae", "out_b_mse", "out_b_mae" }));
        Assert.That(r["out_a_mae"], Is.EqualTo(PerSample(y[0], p[0], Math.Abs).Average()).Within(1e-12));
        Assert.That(r["out_b_mse"], Is.EqualTo(PerSample(y[1], p[1], d => d * d).Average()).Within(1e-12));
        Assert.That(r["out_b_mae"], Is.EqualTo(PerSample(y[1], p[1], Math.Abs).Average()).Within(1e-12));

        var h = m.Fit(x, y, epochs: 1, batchSize: 5, validationData: (x, y), verbose: 0);
        Assert.That(h.Keys, Is.EquivalentTo(new[]
        {
            "loss", "out_a_loss", "out_b_loss", "out_a_mae", "out_b_mse", "out_b_mae",
            "val_loss", "val_out_a_loss", "val_out_b_loss", "val_out_a_mae", "val_out_b_mse", "val_out_b_mae",
        }));

        // One loss for all outputs with a metric list per output: the same values.
        var shared = TestModels.SeriesAndStatic();
        shared.Build(dtype: DType.Float64);
        shared.SetWeights(m.GetWeights());
        shared.Compile(new Adam(0.01), Loss.MeanSquaredError, [[Metric.MeanAbsoluteError], [Metric.MeanSquaredError, Metric.MeanAbsoluteError]]);
        Assert.That(shared.Evaluate(x, y, batchSize: 10), Is.EqualTo(m.Evaluate(x, y, batchSize: 10)));

        // The dict form keyed by output name: an output left out has no metrics.
        var d = TestModels.SeriesAndStatic();
        d.Build(dtype: DType.Float64);
        d.SetWeights(m.GetWeights());
        d.Compile(new Adam(0.01), new Dictionary<string, Loss> { ["out_b"] = Loss.MeanSquaredError, ["out_a"] = Loss.MeanAbsoluteError },
            new Dictionary<string, double> { ["out_b"] = 0.5 },
            new Dictionary<string, IReadOnlyList<Metric>> { ["out_b"] = [Metric.MeanAbsoluteError] });
        var rd = d.Evaluate(x, y, batchSize: 10);
        Assert.That(rd.Keys, Is.EquivalentTo(new[] { "loss", "out_a_loss", "out_b_loss", "out_b_mae" }));
        Assert.That(d.OutputLosses!.Select(l => l.Name), Is.EqualTo(new[] { Loss.MeanAbsoluteError.Name, Loss.MeanSquaredError.Name }));
        Assert.That(d.LossWeights, Is.EqualTo(new[] { 1.0, 0.5 }));
        Assert.That(rd["loss"], Is.EqualTo(rd["out_a_loss"] + 0.5 * rd["out_b_loss"]).Within(1e-12));

        string dir = TestModels.TempDir();
        try
        {
            string path = Path.Combine(dir, "metrics.rnnx");
            m.Save(path);
            var loaded = Model.Load(path);
            Assert.That(loaded.OutputMetrics!.Select(l => l.Select(mm => mm.Name)), Is.EqualTo(new[] { new[] { "mae" }, new[] { "mse", "mae" } }));
            Assert.That(loaded.Evaluate(x, y, batchSize: 10), Is.EqualTo(m.Evaluate(x, y, batchSize: 10)));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }

        var ex = Assert.Throws<ArgumentException>(() => m.Compile(new Adam(), [Loss.MeanSquaredError, Loss.MeanSquaredError], null, [[Metric.MeanAbsoluteError]]));
        Assert.That(ex!.Message, Does.Contain("one list of metrics for each, got 1"));
        ex = Assert.Throws<ArgumentException>(() => m.Compile(new Adam(), new Dictionary<string, Loss> { ["out_a"] = Loss.MeanSquaredError }));
        Assert.That(ex!.Message, Does.Contain("no entry for output 'out_b'"));
        ex = Assert.Throws<ArgumentException>(() => m.Compile(new Adam(), new Dictionary<string, Loss> { ["out_a"] = Loss.MeanSquaredError, ["out_b"] = Loss.MeanSquaredError },
            outputMetrics: new Dictionary<string, IReadOnlyList<Metric>> { ["out_x"] = [Metric.MeanAbsoluteError] }));
        Assert.That(ex!.Message, Does.Contain("'out_x'").And.Contain("no output of the model"));
        Assert.That(m.OutputMetrics, Has.Count.EqualTo(2), "a refused Compile changes nothing");
    }

    [Test]
    public void SampleWeightsPerOutputWeighEachOutputsLossAsKeras()
    {
        const int n = 6;
        var (x, y) = TestModels.SeriesAndStaticData(n, 5, DType.Float64);
        var wa = Tensor.FromArray(new double[] { 1, 0, 2, 0.5, 1, 3 }, n);
        var wb = Tensor.FromArray(new double[] { 0, 1, 1, 4, 0.25, 1 }, n);
        var m = TestModels.SeriesAndStatic();
        m.Build(dtype: DType.Float64);
        m.Threads = 1;
        var p = m.Predict(x, batchSize: n);
        // Keras's sum_over_batch_size: Σ w·loss / samples, per output; the total is their sum.
        double lossA = PerSample(y[0], p[0], d => d * d).Select((l, i) => l * wa.GetValue(i)).Sum() / n;
        double lossB = PerSample(y[1], p[1], d => d * d).Select((l, i) => l * wb.GetValue(i)).Sum() / n;

        // The step: the gradient of the hand-weighted sum, taken on a tape.
        var tape = new Tape();
        Gradients g;
        using (tape.Activate())
        {
            var outs = m.CallMany(x, training: true);
            var total = Loss.MeanSquaredError.Compute(y[0], outs[0], wa, null) + Loss.MeanSquaredError.Compute(y[1], outs[1], wb, null);
            Assert.That(total.Item(), Is.EqualTo(lossA + lossB).Within(1e-12), "the loss op's weighting is the hand-computed one");
            g = tape.Backward(total);
        }
        const double lr = 0.1;
        var expected = m.Weights.Select(w => (w.Value - g[w] * lr).ToDoubleArray()).ToArray();

        m.Compile(new Sgd(lr), Loss.MeanSquaredError, Metric.MeanSquaredError);
        var h = m.Fit(x, y, epochs: 1, batchSize: n, shuffle: false, verbose: 0, sampleWeight: [wa, wb]);
        Assert.That(h["out_a_loss"][0], Is.EqualTo(lossA).Within(1e-12));
        Assert.That(h["out_b_loss"][0], Is.EqualTo(lossB).Within(1e-12));
        Assert.That(h["loss"][0], Is.EqualTo(lossA + lossB).Within(1e-12));
        for (int i = 0; i < expected.Length; i++)
            Assert.That(m.Weights[i].Value.ToDoubleArray(), Is.EqualTo(expected[i]).Within(1e-12), m.Weights[i].Name);

        // One tensor for every output (Keras repeats it), null for an unweighted output, and the dict form: the same as spelled out.
        History Run(Func<Model, History> fit)
        {
            var model = TestModels.SeriesAndStatic();
            model.Build(dtype: DType.Float64);
            model.Compile(new Sgd(lr), Loss.MeanSquaredError);
            return fit(model);
        }
        var ones = Tensor.Ones(new Shape(n), DType.Float64);
        var repeated = Run(mm => mm.Fit(x, y, batchSize: n, shuffle: false, verbose: 0, sampleWeight: [wa]));
        var spelled = Run(mm => mm.Fit(x, y, batchSize: n, shuffle: false, verbose: 0, sampleWeight: [wa, wa]));
        Assert.That(repeated["loss"], Is.EqualTo(spelled["loss"]));
        var withNull = Run(mm => mm.Fit(x, y, batchSize: n, shuffle: false, verbose: 0, sampleWeight: [null, wb]));
        var withOnes = Run(mm => mm.Fit(x, y, batchSize: n, shuffle: false, verbose: 0, sampleWeight: [ones, wb]));
        Assert.That(withNull["loss"][0], Is.EqualTo(withOnes["loss"][0]).Within(1e-12));
        var named = Run(mm => mm.Fit(
            new Dictionary<string, Tensor> { ["series"] = x[0], ["statics"] = x[1] }, new Dictionary<string, Tensor> { ["out_a"] = y[0], ["out_b"] = y[1] },
            batchSize: n, shuffle: false, verbose: 0, sampleWeight: new Dictionary<string, Tensor> { ["out_b"] = wb, ["out_a"] = wa }));
        Assert.That(named["loss"][0], Is.EqualTo(lossA + lossB).Within(1e-12));
    }

    [Test]
    public void ClassWeightNeedsASingleOutputAndBadWeightsAreRefused()
    {
        var (x, y) = TestModels.SeriesAndStaticData(6, 7);
        var m = TestModels.SeriesAndStatic();
        m.Compile(new Adam(), Loss.MeanSquaredError);
        m.Build();
        var before = TestModels.Snapshot(m);
        var ex = Assert.Throws<ArgumentException>(() => m.Fit(x, y, verbose: 0, classWeight: new Dictionary<int, double> { [0] = 2 }));
        Assert.That(ex!.Message, Does.Contain("classWeight is only supported for models with a single output").And.Contain("out_a, out_b"));
        ex = Assert.Throws<ArgumentException>(() => m.Fit(x, y, verbose: 0, sampleWeight: [Tensor.Ones(new Shape(6)), Tensor.Ones(new Shape(6)), Tensor.Ones(new Shape(6))]));
        Assert.That(ex!.Message, Does.Contain("one sampleWeight for each").And.Contain("got 3"));
        ex = Assert.Throws<ShapeMismatchException>(() => m.Fit(x, y, verbose: 0, sampleWeight: [Tensor.Ones(new Shape(6)), Tensor.Ones(new Shape(5))]));
        Assert.That(ex!.Message, Does.Contain("sampleWeight for output 'out_b' (5,)").And.Contain("(6, 1)"));
        TestModels.AssertSame(TestModels.Snapshot(m), before, "weights unchanged");

        // Two inputs, one output: class weights are Keras's sample weights of the targets' classes.
        static Model Classifier()
        {
            var series = new Input([6, 1], name: "series");
            var statics = new Input([2], name: "statics");
            var merged = new Concatenate().ApplyMany(new LSTM(3).Apply(series), statics)[0];
            return new Model([series, statics], [new Dense(3, activation: Activation.Softmax, name: "cls").Apply(merged)], seed: 9);
        }
        var labels = Tensor.FromArray(new float[] { 0, 2, 1, 2, 0, 1 }, 6);
        var byClass = Classifier();
        byClass.Compile(new Sgd(0.1), Loss.SparseCategoricalCrossentropy());
        var hc = byClass.Fit(x, [labels], batchSize: 6, shuffle: false, verbose: 0, classWeight: new Dictionary<int, double> { [0] = 0.5, [2] = 3 });
        var bySample = Classifier();
        bySample.Compile(new Sgd(0.1), Loss.SparseCategoricalCrossentropy());
        var hs = bySample.Fit(x, [labels], batchSize: 6, shuffle: false, verbose: 0, sampleWeight: [Tensor.FromArray(new float[] { 0.5f, 3, 1, 3, 0.5f, 1 }, 6)]);
        Assert.That(hc["loss"], Is.EqualTo(hs["loss"]));
        TestModels.AssertSame(TestModels.Snapshot(byClass), TestModels.Snapshot(bySample), "class weights = their sample weights");
    }
}
