using Rnnx.Diagnostics;
using Rnnx.Layers;
using Rnnx.Losses;
using Rnnx.Metrics;
using Rnnx.Models;
using Rnnx.Optimizers;
using Rnnx.Random;
using Rnnx.Saving;
using Rnnx.Tests.Saving;
using Rnnx.Tests.TestUtilities;

namespace Rnnx.Tests.Models;

/// <summary>
/// Training models with several inputs and outputs, as Keras's fit/evaluate/train_on_batch with lists
/// (keras/src/trainers/compile_utils.py CompileLoss: the total loss is the sum of each output's loss; History keys
/// <c>loss</c>, <c>&lt;output&gt;_loss</c>, <c>&lt;output&gt;_&lt;metric&gt;</c>).
/// </summary>
public class MultiInputOutputTrainingTests
{
    private static Tensor HandLoss(Model m, Tensor[] x, Tensor[] y)
    {
        var outs = m.CallMany(x, training: true);
        return Loss.MeanSquaredError.Compute(y[0], outs[0], null, null) + Loss.MeanSquaredError.Compute(y[1], outs[1], null, null);
    }

    [Test]
    public void TrainOnBatchStepsAlongTheGradientOfTheSummedLoss()
    {
        var m = TestModels.SeriesAndStatic();
        m.Build(dtype: DType.Float64);
        m.Threads = 1;
        var (x, y) = TestModels.SeriesAndStaticData(5, 3, DType.Float64);

        // Float64 gradient check of the summed loss with respect to every weight.
        var check = GradientChecker.Check(() => HandLoss(m, x, y), m.Weights);
        Assert.That(check.Elements, Is.EqualTo(m.CountParams()));

        var tape = new Tape();
        double handLoss;
        Gradients g;
        using (tape.Activate())
        {
            var loss = HandLoss(m, x, y);
            handLoss = loss.Item();
            g = tape.Backward(loss);
        }
        const double lr = 0.1;
        var expected = m.Weights.Select(p => (p.Value - g[p] * lr).ToDoubleArray()).ToArray();
        m.Compile(new Sgd(lr), Loss.MeanSquaredError);
        double reported = m.TrainOnBatch(x, y);
        Assert.That(reported, Is.EqualTo(handLoss).Within(1e-14));
        for (int i = 0; i < expected.Length; i++)
            Assert.That(m.Weights[i].Value.ToDoubleArray(), Is.EqualTo(expected[i]).Within(1e-14), m.Weights[i].Name);
    }

    [Test]
    public void FitIsTheSameAcrossThreadCountsAndWritesKerasKeys()
    {
        var (x, y) = TestModels.SeriesAndStaticData(40, 5);
        var (vx, vy) = TestModels.SeriesAndStaticData(12, 6);
        (double[][] Weights, History History) Train(int threads)
        {
            var m = TestModels.SeriesAndStatic();
            m.Threads = threads;
            m.Shards = 4;
            m.Compile(new Adam(0.01), Loss.MeanSquaredError, Metric.MeanAbsoluteError);
            var h = m.Fit(x, y, epochs: 2, batchSize: 8, validationData: (vx, vy), verbose: 0);
            return (TestModels.Snapshot(m), h);
        }
        var one = Train(1);
        foreach (int threads in new[] { 2, 4 })
        {
            var other = Train(threads);
            TestModels.AssertSame(other.Weights, one.Weights, $"{threads} threads");
            foreach (var key in one.History.Keys) Assert.That(other.History[key], Is.EqualTo(one.History[key]), $"{key}, {threads} threads");
        }
        Assert.That(one.History.Keys, Is.EquivalentTo(new[]
        {
            "loss", "out_a_loss", "out_b_loss", "out_a_mae", "out_b_mae",
            "val_loss", "val_out_a_loss", "val_out_b_loss", "val_out_a_mae", "val_out_b_mae",
        }));
        for (int e = 0; e < 2; e++)
            Assert.That(one.History["loss"][e], Is.EqualTo(one.History["out_a_loss"][e] + one.History["out_b_loss"][e]).Within(1e-6));
    }

    [Test]
    public void FitShufflesInputsAndTargetsTogetherAsBatchesOfTrainOnBatch()
    {
        const int n = 20, batch = 8;
        var (x, y) = TestModels.SeriesAndStaticData(n, 8);
        var fitted = TestModels.SeriesAndStatic();
        fitted.Threads = 1;
        fitted.Compile(new Adam(0.01), Loss.MeanSquaredError);
        fitted.Fit(x, y, epochs: 1, batchSize: batch, verbose: 0);

        // The same permutation (the model's shuffle generator, seeded with Seed + 1) cut into the same batches.
        var stepped = TestModels.SeriesAndStatic();
        stepped.Threads = 1;
        stepped.Compile(new Adam(0.01), Loss.MeanSquaredError);
        var index = Enumerable.Range(0, n).ToArray();
        new NumPyRandomState(unchecked((uint)stepped.Seed + 1)).Shuffle(index.AsSpan());
        for (int start = 0; start < n; start += batch)
        {
            var rows = index[start..Math.Min(n, start + batch)];
            stepped.TrainOnBatch(x.Select(t => Tensor.GatherRows(t, rows)).ToArray(), y.Select(t => Tensor.GatherRows(t, rows)).ToArray());
        }
        TestModels.AssertSame(TestModels.Snapshot(stepped), TestModels.Snapshot(fitted), "Fit vs TrainOnBatch");
    }

    [Test]
    public void EvaluateAndPredictTakeListsAndSumTheOutputsLosses()
    {
        var m = TestModels.SeriesAndStatic();
        m.Compile(new Adam(), Loss.MeanSquaredError, Metric.MeanSquaredError);
        var (x, y) = TestModels.SeriesAndStaticData(10, 9);
        var predicted = m.Predict(x, batchSize: 4);
        Assert.That(predicted, Has.Length.EqualTo(2));
        double lossA = Loss.MeanSquaredError.Compute(y[0], predicted[0], null, null).Item();
        double lossB = Loss.MeanSquaredError.Compute(y[1], predicted[1], null, null).Item();
        var r = m.Evaluate(x, y, batchSize: 10);
        Assert.That(r["out_a_loss"], Is.EqualTo(lossA).Within(1e-6));
        Assert.That(r["out_b_loss"], Is.EqualTo(lossB).Within(1e-6));
        Assert.That(r["loss"], Is.EqualTo(lossA + lossB).Within(1e-6));
        Assert.That(r["out_a_mse"], Is.EqualTo(lossA).Within(1e-6));
    }

    [Test]
    public void SteadyTrainOnBatchWithListsAllocatesUnderOneKilobyte()
    {
        var m = TestModels.SeriesAndStatic();
        m.Threads = 1;
        m.Compile(new Nadam(), Loss.MeanSquaredError);
        var (x, y) = TestModels.SeriesAndStaticData(16, 10);
        long perStep = SteadyStateAllocation.BytesPerRun(() => m.TrainOnBatch(x, y), warmUps: 3, measured: 20).Max();
        Assert.That(perStep, Is.LessThan(1024), $"{perStep} bytes per training step");
    }

    [Test]
    public void CheckpointResumeIsExact()
    {
        var (x, y) = TestModels.SeriesAndStaticData(24, 11);
        Model Compiled()
        {
            var m = TestModels.SeriesAndStatic();
            m.Compile(new Nadam(), Loss.MeanSquaredError);
            return m;
        }
        var straight = Compiled();
        straight.Fit(x, y, epochs: 3, batchSize: 8, verbose: 0);

        var first = Compiled();
        first.Fit(x, y, epochs: 1, batchSize: 8, verbose: 0);
        string dir = TestModels.TempDir();
        try
        {
            string path = Path.Combine(dir, "ckpt.rnnx");
            first.Save(path, new SaveOptions { Epoch = 1 });
            var loaded = Model.Load(path);
            Assert.That(loaded.Predict(x)[1].ToFloatArray(), Is.EqualTo(first.Predict(x)[1].ToFloatArray()));
            var second = Compiled();
            int epoch = ModelIO.RestoreCheckpoint(second, path);
            second.Fit(x, y, epochs: 3, batchSize: 8, verbose: 0, initialEpoch: epoch);
            TestModels.AssertSame(TestModels.Snapshot(second), TestModels.Snapshot(straight), "restored vs straight");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void BadListsAreRefusedNamingTheInputOrOutput()
    {
        var m = TestModels.SeriesAndStatic();
        m.Compile(new Adam(), Loss.MeanSquaredError);
        var (x, y) = TestModels.SeriesAndStaticData(6, 12);
        m.Build();
        var before = TestModels.Snapshot(m);

        var ex = Assert.Throws<ArgumentException>(() => m.Fit([x[0]], y, verbose: 0));
        Assert.That(ex!.Message, Does.Contain("takes 2 input(s), got 1"));
        ex = Assert.Throws<ArgumentException>(() => m.Fit(x, [y[0]], verbose: 0));
        Assert.That(ex!.Message, Does.Contain("2 output(s) (out_a, out_b), got 1 targets"));
        ex = Assert.Throws<ShapeMismatchException>(() => m.Fit([x[0], Tensor.GatherRows(x[1], [0, 1, 2])], y, verbose: 0));
        Assert.That(ex!.Message, Does.Contain("statics").And.Contain("3 samples"));
        ex = Assert.Throws<ShapeMismatchException>(() => m.TrainOnBatch(x, [y[0], Tensor.Zeros(new Shape(6, 3))]));
        Assert.That(ex!.Message, Does.Contain("output 'out_b'").And.Contain("(6, 3)").And.Contain("(samples, 1)"));
        ex = Assert.Throws<ShapeMismatchException>(() => m.Evaluate(x, [y[0], Tensor.Zeros(new Shape(5, 1))]));
        Assert.That(ex!.Message, Does.Contain("output 'out_b'").And.Contain("5 samples"));
        var values = x[1].ToFloatArray();
        values[3] = float.NaN;
        var bad = Tensor.FromArray(values, 6, 2);
        ex = Assert.Throws<ArgumentException>(() => m.Fit([x[0], bad], y, verbose: 0));
        Assert.That(ex!.Message, Does.Contain("statics").And.Contain("NaN"));
        ex = Assert.Throws<ArgumentException>(() => m.Fit(x[0], y[0], verbose: 0));
        Assert.That(ex!.Message, Does.Contain("2 input(s)").And.Contain("lists"));
        TestModels.AssertSame(TestModels.Snapshot(m), before, "weights unchanged");
    }

    [Test]
    public void PerOutputLossesAndWeightsMakeTheWeightedSumAndSurviveSaving()
    {
        var m = TestModels.SeriesAndStatic();
        m.Build(dtype: DType.Float64);
        m.Threads = 1;
        var (x, y) = TestModels.SeriesAndStaticData(6, 13, DType.Float64);
        var outs = m.CallMany(x);
        double mse = Loss.MeanSquaredError.Compute(y[0], outs[0], null, null).Item();
        double mae = Loss.MeanAbsoluteError.Compute(y[1], outs[1], null, null).Item();
        m.Compile(new Adam(0.01), [Loss.MeanSquaredError, Loss.MeanAbsoluteError], [1.0, 0.5]);
        var r = m.Evaluate(x, y);
        Assert.That(r["out_a_loss"], Is.EqualTo(mse).Within(1e-14));
        // Keras 3 records each output's loss unweighted; only the total is weighted (keras/src/trainers/compile_utils.py,
        // CompileLoss.call: "Record *unweighted* individual losses").
        Assert.That(r["out_b_loss"], Is.EqualTo(mae).Within(1e-14));
        Assert.That(r["loss"], Is.EqualTo(mse + 0.5 * mae).Within(1e-14));
        Assert.That(m.TrainOnBatch(x, y), Is.EqualTo(mse + 0.5 * mae).Within(1e-14));

        string dir = TestModels.TempDir();
        try
        {
            string path = Path.Combine(dir, "weighted.rnnx");
            m.Save(path);
            var loaded = Model.Load(path);
            Assert.That(loaded.OutputLosses!.Select(l => l.Name), Is.EqualTo(new[] { Loss.MeanSquaredError.Name, Loss.MeanAbsoluteError.Name }));
            Assert.That(loaded.LossWeights, Is.EqualTo(new[] { 1.0, 0.5 }));
            loaded.Threads = 1;
            Assert.That(loaded.TrainOnBatch(x, y), Is.EqualTo(m.TrainOnBatch(x, y)), "same step after loading");
            TestModels.AssertSame(TestModels.Snapshot(loaded), TestModels.Snapshot(m), "weights after one more step");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }

        var ex = Assert.Throws<ArgumentException>(() => m.Compile(new Adam(), [Loss.MeanSquaredError]));
        Assert.That(ex!.Message, Does.Contain("2 output(s)").And.Contain("got 1"));
        ex = Assert.Throws<ArgumentException>(() => m.Compile(new Adam(), [Loss.MeanSquaredError, Loss.MeanSquaredError], [1.0, double.NaN]));
        Assert.That(ex!.Message, Does.Contain("NaN"));
        Assert.That(m.LossWeights, Is.EqualTo(new[] { 1.0, 0.5 }), "a refused Compile changes nothing");
    }

    /// <summary>The docs/layers.md example's call forms (collection expressions for the lists) compile and give its keys.</summary>
    [Test]
    public void LayersDocExampleForms()
    {
        var series = new Input([null, 1], name: "series");
        var features = new Input([3], name: "features");
        var encoded = new LSTM(4, name: "encoder").Apply(series);
        var forecast = new Dense(10, name: "forecast").Apply(new Concatenate().ApplyMany(encoded, features)[0]);
        var level = new Dense(1, name: "level").Apply(encoded);
        var model = new Model([series, features], [forecast, level]);
        var r = new RandomTensors(14);
        Tensor F(params int[] shape) => r.Uniform(new Shape(shape)).Copy(DType.Float32);
        var (xSeries, xFeatures, yForecast, yLevel) = (F(8, 5, 1), F(8, 3), F(8, 10), F(8, 1));
        model.Compile(new Adam(), [Loss.MeanSquaredError, Loss.MeanAbsoluteError], lossWeights: [1.0, 0.5], Metric.MeanAbsoluteError);
        var history = model.Fit([xSeries, xFeatures], [yForecast, yLevel], epochs: 1, verbose: 0,
            validationData: ([xSeries, xFeatures], [yForecast, yLevel]));
        Assert.That(history.Keys, Is.EquivalentTo(new[]
        {
            "loss", "forecast_loss", "level_loss", "forecast_mae", "level_mae",
            "val_loss", "val_forecast_loss", "val_level_loss", "val_forecast_mae", "val_level_mae",
        }));
        var scores = model.Evaluate([xSeries, xFeatures], [yForecast, yLevel]);
        Assert.That(scores["loss"], Is.EqualTo(history["val_loss"][0]));
    }
}
