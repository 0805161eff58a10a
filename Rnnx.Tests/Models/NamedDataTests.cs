using Rnnx.Layers;
using Rnnx.Losses;
using Rnnx.Metrics;
using Rnnx.Models;
using Rnnx.Optimizers;
using Rnnx.Tests.Saving;
using Rnnx.Tests.TestUtilities;

namespace Rnnx.Tests.Models;

/// <summary>
/// Keras's dict form of a functional model's data: inputs keyed by Input name (keras/src/models/functional.py,
/// Functional._standardize_inputs: <c>inputs = [inputs[i.name] for i in self._inputs_struct]</c>), targets keyed by
/// output name (keras/src/trainers/compile_utils.py, CompileLoss._flatten_y: <c>for name in self.output_names: ... y[name]</c>).
/// </summary>
public class NamedDataTests
{
    // Keys deliberately in another order than the model's, as a dict has no order Keras relies on.
    private static Dictionary<string, Tensor> Inputs(Tensor[] x) => new() { ["statics"] = x[1], ["series"] = x[0] };

    private static Dictionary<string, Tensor> Targets(Tensor[] y) => new() { ["out_b"] = y[1], ["out_a"] = y[0] };

    [Test]
    public void DictsTrainEvaluateAndPredictExactlyAsLists()
    {
        var (x, y) = TestModels.SeriesAndStaticData(20, 3);
        var (vx, vy) = TestModels.SeriesAndStaticData(8, 4);
        Model Compiled()
        {
            var m = TestModels.SeriesAndStatic();
            m.Compile(new Adam(0.01), Loss.MeanSquaredError, Metric.MeanAbsoluteError);
            return m;
        }
        var listed = Compiled();
        var hl = listed.Fit(x, y, epochs: 2, batchSize: 8, validationData: (vx, vy), verbose: 0);
        var named = Compiled();
        var hn = named.Fit(Inputs(x), Targets(y), epochs: 2, batchSize: 8, validationData: (Inputs(vx), Targets(vy)), verbose: 0);
        TestModels.AssertSame(TestModels.Snapshot(named), TestModels.Snapshot(listed), "dict vs list Fit");
        Assert.That(hn.Keys, Is.EqualTo(hl.Keys));
        foreach (var key in hl.Keys) Assert.That(hn[key], Is.EqualTo(hl[key]), key);

        Assert.That(named.Evaluate(Inputs(vx), Targets(vy)), Is.EqualTo(listed.Evaluate(vx, vy)));
        var pn = named.Predict(Inputs(vx));
        var pl = listed.Predict(vx);
        for (int o = 0; o < 2; o++) Assert.That(pn[o].ToFloatArray(), Is.EqualTo(pl[o].ToFloatArray()), $"output {o}");

        Assert.That(named.TrainOnBatch(Inputs(x), Targets(y)), Is.EqualTo(listed.TrainOnBatch(x, y)));
        TestModels.AssertSame(TestModels.Snapshot(named), TestModels.Snapshot(listed), "dict vs list TrainOnBatch");
        Assert.That(named.InputNames, Is.EqualTo(new[] { "series", "statics" }));
        Assert.That(named.OutputNames, Is.EqualTo(new[] { "out_a", "out_b" }));
    }

    [Test]
    public void SteadyTrainOnBatchWithDictsAllocatesUnderOneKilobyte()
    {
        var m = TestModels.SeriesAndStatic();
        m.Threads = 1;
        m.Compile(new Nadam(), Loss.MeanSquaredError);
        var (x, y) = TestModels.SeriesAndStaticData(16, 10);
        var (dx, dy) = (Inputs(x), Targets(y));
        long perStep = SteadyStateAllocation.BytesPerRun(() => m.TrainOnBatch(dx, dy), warmUps: 3, measured: 20).Max();
        Assert.That(perStep, Is.LessThan(1024), $"{perStep} bytes per training step");
    }

    [Test]
    public void UnknownAndMissingNamesAreRefusedNamingThemAndChangeNothing()
    {
        var m = TestModels.SeriesAndStatic();
        m.Compile(new Adam(), Loss.MeanSquaredError);
        var (x, y) = TestModels.SeriesAndStaticData(6, 12);
        m.Build();
        var before = TestModels.Snapshot(m);

        var missing = new Dictionary<string, Tensor> { ["series"] = x[0] };
        var ex = Assert.Throws<ArgumentException>(() => m.Fit(missing, Targets(y), verbose: 0));
        Assert.That(ex!.Message, Does.Contain("no entry for input 'statics'").And.Contain("'series', 'statics'"));
        var extra = Inputs(x);
        extra["seriess"] = x[0];
        ex = Assert.Throws<ArgumentException>(() => m.TrainOnBatch(extra, Targets(y)));
        Assert.That(ex!.Message, Does.Contain("'seriess'").And.Contain("no input of the model"));
        var wrongTarget = new Dictionary<string, Tensor> { ["out_a"] = y[0], ["dense"] = y[1] };
        ex = Assert.Throws<ArgumentException>(() => m.Evaluate(Inputs(x), wrongTarget));
        Assert.That(ex!.Message, Does.Contain("no entry for output 'out_b'").And.Contain("'out_a', 'out_b'"));
        var extraTarget = Targets(y);
        extraTarget["out_c"] = y[1];
        ex = Assert.Throws<ArgumentException>(() => m.Fit(Inputs(x), extraTarget, verbose: 0));
        Assert.That(ex!.Message, Does.Contain("'out_c'").And.Contain("no output of the model"));
        ex = Assert.Throws<ArgumentException>(() => m.Fit(Inputs(x), Targets(y), verbose: 0, sampleWeight: new Dictionary<string, Tensor> { ["out_a"] = Tensor.Ones(new Shape(6)) }));
        Assert.That(ex!.Message, Does.Contain("sample weights have no entry for output 'out_b'"));
        ex = Assert.Throws<ArgumentException>(() => m.Predict(new Dictionary<string, Tensor> { ["statics"] = x[1] }));
        Assert.That(ex!.Message, Does.Contain("'series'"));
        TestModels.AssertSame(TestModels.Snapshot(m), before, "weights unchanged");

        var sequential = new Sequential([new Dense(1, inputShape: [2])]);
        sequential.Compile(new Adam());
        ex = Assert.Throws<ArgumentException>(() => sequential.Fit(new Dictionary<string, Tensor> { ["x"] = x[1] }, new Dictionary<string, Tensor> { ["y"] = y[1] }, verbose: 0));
        Assert.That(ex!.Message, Does.Contain("Sequential model has no named inputs"));
    }

    [Test]
    public void OutputsOfOneLayerCannotBeKeyedByName()
    {
        var input = new Input([5, 1], name: "seq");
        var outs = new LSTM(2, returnState: true, name: "enc").ApplyMany(input);
        var m = new Model([input], [outs[1], outs[2]]);
        m.Compile(new Adam(), Loss.MeanSquaredError);
        var x = Tensor.Zeros(new Shape(3, 5, 1));
        var ex = Assert.Throws<ArgumentException>(() => m.Evaluate(new Dictionary<string, Tensor> { ["seq"] = x }, new Dictionary<string, Tensor> { ["enc"] = Tensor.Zeros(new Shape(3, 2)) }));
        Assert.That(ex!.Message, Does.Contain("both named 'enc'").And.Contain("lists"));
    }
}
