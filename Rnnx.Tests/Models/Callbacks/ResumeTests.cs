using Rnnx.Layers;
using Rnnx.Models;
using Rnnx.Optimizers;
using Rnnx.Saving;
using Rnnx.Tests.Saving;
using LNSimpleRNNCell = Rnnx.Cli.LNSimpleRNNCell;

namespace Rnnx.Tests.Models.Callbacks;

/// <summary>Training stopped after epoch k and resumed from a checkpoint equals training straight through, bit for bit.</summary>
[TestFixture]
public sealed class ResumeTests
{
    private string _dir = "";

    [OneTimeSetUp]
    public void Setup()
    {
        _dir = TestModels.TempDir();
        LNSimpleRNNCell.Register();
    }

    [OneTimeTearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private static (Tensor X, Tensor Y, Tensor Xv, Tensor Yv) Data(int steps = 12)
    {
        var x = TestModels.Input([steps, 1], 96, DType.Float32, seed: 11);
        var y = TestModels.Input([1], 96, DType.Float32, seed: 12);
        var xv = TestModels.Input([steps, 1], 24, DType.Float32, seed: 13);
        var yv = TestModels.Input([1], 24, DType.Float32, seed: 14);
        return (x, y, xv, yv);
    }

    private static IEnumerable<TestCaseData> Setups()
    {
        yield return new TestCaseData(new Func<Sequential>(() => new Sequential(new GRU(8, returnSequences: true, inputShape: [null, 1]), new LSTM(6), new Dense(1))),
            new Func<Optimization.IOptimizer>(() => new Nadam())).SetName("Resume_GruLstm_Nadam");
        yield return new TestCaseData(new Func<Sequential>(() => new Sequential(new RNN(new LNSimpleRNNCell(6), inputShape: [null, 1]), new Dense(1))),
            new Func<Optimization.IOptimizer>(() => new Adam(0.01) { GlobalClipNorm = 1.0 })).SetName("Resume_CustomCell_AdamClipped");
        yield return new TestCaseData(new Func<Sequential>(() => new Sequential(new Conv1D(4, 3, padding: "causal", inputShape: [null, 1]), new SimpleRNN(5), new Dense(1))),
            new Func<Optimization.IOptimizer>(() => new Sgd(0.05, momentum: 0.9, nesterov: true))).SetName("Resume_ConvRnn_SgdNesterov");
        yield return new TestCaseData(new Func<Sequential>(() => new Sequential(new SimpleRNN(5, inputShape: [null, 1]), new Dense(1))),
            new Func<Optimization.IOptimizer>(() => new RmsProp(0.01, momentum: 0.5, centered: true) { LearningRateSchedule = new ExponentialDecay(0.01, 3, 0.9) })).SetName("Resume_RmsPropSchedule");
        yield return new TestCaseData(new Func<Sequential>(() => new Sequential(new LSTM(4, inputShape: [null, 1]), new Dense(1))),
            new Func<Optimization.IOptimizer>(() => new Nadam(0.01, schedule: NadamSchedule.Legacy) { ClipValue = 0.5, LearningRateSchedule = new PiecewiseConstant([7], [0.01, 0.003]) }))
            .SetName("Resume_NadamLegacyPiecewiseClipValue");
    }

    [TestCaseSource(nameof(Setups))]
    public void ResumedTrainingEqualsUninterrupted(Func<Sequential> create, Func<Optimization.IOptimizer> optimizer)
    {
        var (x, y, xv, yv) = Data();

        var straight = create();
        straight.Compile(optimizer(), Losses.Loss.MeanSquaredError, Metrics.Metric.MeanAbsoluteError);
        var h1 = straight.Fit(x, y, epochs: 4, batchSize: 16, validationData: (xv, yv), verbose: 0);

        var first = create();
        first.Compile(optimizer(), Losses.Loss.MeanSquaredError, Metrics.Metric.MeanAbsoluteError);
        var ckpt = new ModelCheckpoint(Path.Combine(_dir, "ckpt-{epoch:02d}.rnnx"));
        first.Fit(x, y, epochs: 2, batchSize: 16, validationData: (xv, yv), callbacks: [ckpt], verbose: 0);
        Assert.That(ckpt.SavedPaths.Select(Path.GetFileName), Is.EqualTo(new[] { "ckpt-01.rnnx", "ckpt-02.rnnx" }));

        // A fresh process would do exactly this: load the checkpoint, continue from its epoch.
        var resumed = ModelIO.LoadCheckpoint(ckpt.SavedPaths[^1]);
        Assert.That(resumed.Epoch, Is.EqualTo(2));
        var h2 = resumed.Model.Fit(x, y, epochs: 4, batchSize: 16, validationData: (xv, yv), verbose: 0, initialEpoch: resumed.Epoch);

        TestModels.AssertSame(TestModels.Snapshot(resumed.Model), TestModels.Snapshot(straight), "resumed vs straight");
        Assert.That(h2["loss"], Is.EqualTo(h1["loss"].Skip(2)));
        Assert.That(h2["val_loss"], Is.EqualTo(h1["val_loss"].Skip(2)));
        Assert.That(resumed.Model.Optimizer!.Iterations, Is.EqualTo(straight.Optimizer!.Iterations));
    }

    [Test]
    public void RestoreCheckpointIntoAnExistingModel()
    {
        var (x, y, _, _) = Data();
        Sequential Create() => new(new LSTM(5, inputShape: [null, 1]), new Dense(1));
        var straight = Create();
        straight.Compile(new Nadam(), Losses.Loss.MeanSquaredError);
        straight.Fit(x, y, epochs: 3, batchSize: 32, verbose: 0);

        var first = Create();
        first.Compile(new Nadam(), Losses.Loss.MeanSquaredError);
        first.Fit(x, y, epochs: 1, batchSize: 32, verbose: 0);
        string path = Path.Combine(_dir, "restore.rnnx");
        first.Save(path, new SaveOptions { Epoch = 1 });

        var second = Create();
        second.Compile(new Nadam(), Losses.Loss.MeanSquaredError);
        int epoch = ModelIO.RestoreCheckpoint(second, path);
        Assert.That(epoch, Is.EqualTo(1));
        second.Fit(x, y, epochs: 3, batchSize: 32, verbose: 0, initialEpoch: epoch);
        TestModels.AssertSame(TestModels.Snapshot(second), TestModels.Snapshot(straight), "restored vs straight");
    }

    [Test]
    public void WithoutTheShuffleStateResumingDiffers()
    {
        // Guards the test above: the shuffle state matters (otherwise the comparison would prove little).
        var (x, y, _, _) = Data();
        Sequential Create() => new(new SimpleRNN(4, inputShape: [null, 1]), new Dense(1));
        var straight = Create();
        straight.Compile(new Nadam(), Losses.Loss.MeanSquaredError);
        straight.Fit(x, y, epochs: 2, batchSize: 16, verbose: 0);
        var first = Create();
        first.Compile(new Nadam(), Losses.Loss.MeanSquaredError);
        first.Fit(x, y, epochs: 1, batchSize: 16, verbose: 0);
        string path = Path.Combine(_dir, "noshuffle.rnnx");
        first.Save(path, new SaveOptions { Epoch = 1 });
        var resumed = ModelIO.LoadCheckpoint(path).Model;
        resumed.ShuffleRngState = null;
        resumed.Fit(x, y, epochs: 2, batchSize: 16, verbose: 0, initialEpoch: 1);
        Assert.That(TestModels.Snapshot(resumed), Is.Not.EqualTo(TestModels.Snapshot(straight)));
    }
}
