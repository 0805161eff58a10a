using Rnnx.Layers;
using Rnnx.Models;
using Rnnx.Optimizers;
using Rnnx.Saving;
using Rnnx.Tests.Saving;

namespace Rnnx.Tests.Models.Callbacks;

/// <summary>
/// EarlyStopping and ReduceLROnPlateau carry their state in checkpoints (ModelCheckpoint.States): training stopped at
/// epoch k and resumed stops, restores and reduces exactly as an uninterrupted run, bit for bit.
/// </summary>
[TestFixture]
public sealed class ResumeWithCallbackStateTests
{
    private string _dir = "";

    [OneTimeSetUp]
    public void Setup() => _dir = TestModels.TempDir();

    [OneTimeTearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private static (Tensor X, Tensor Y, Tensor Xv, Tensor Yv) Data()
    {
        // Random targets: the validation loss soon stops improving, so early stopping and plateaus happen within a few epochs.
        return (TestModels.Input([8, 1], 64, DType.Float32, seed: 21), TestModels.Input([1], 64, DType.Float32, seed: 22),
            TestModels.Input([8, 1], 32, DType.Float32, seed: 23), TestModels.Input([1], 32, DType.Float32, seed: 24));
    }

    private static Sequential Create()
    {
        var m = new Sequential(new SimpleRNN(6, inputShape: [null, 1]), new Dense(1));
        m.Compile(new Nadam(0.05), Losses.Loss.MeanSquaredError);
        return m;
    }

    private const int Epochs = 60;

    [Test]
    public void EarlyStoppingResumedStopsWhereAnUninterruptedRunStops()
    {
        var (x, y, xv, yv) = Data();
        var straight = Create();
        var es = new EarlyStopping(patience: 3, restoreBestWeights: true);
        var h1 = straight.Fit(x, y, epochs: Epochs, batchSize: 16, validationData: (xv, yv), callbacks: [es], verbose: 0);
        Assert.That(h1.Epochs, Is.LessThan(Epochs), "the test needs a run that stops early");
        Assert.That(es.RestoredBestWeights && es.BestEpoch < es.StoppedEpoch - 1, "and whose best epoch lies before the checkpoint");

        // Interrupted one epoch before the stop (the wait is then running), resumed in a "new process".
        int k = es.StoppedEpoch;
        var first = Create();
        var es1 = new EarlyStopping(patience: 3, restoreBestWeights: true);
        var ckpt = new ModelCheckpoint(Path.Combine(_dir, "es-{epoch}.rnnx")) { States = [es1] };
        first.Fit(x, y, epochs: k, batchSize: 16, validationData: (xv, yv), callbacks: [es1, ckpt], verbose: 0);
        Assert.That(es1.Wait, Is.GreaterThan(0));

        var resumed = ModelIO.LoadCheckpoint(ckpt.SavedPaths[^1]);
        var es2 = new EarlyStopping(patience: 3, restoreBestWeights: true);
        Assert.That(CheckpointedCallbacks.Restore(resumed.Metadata, resumed.Model, [es2]), Is.EqualTo(1));
        var h2 = resumed.Model.Fit(x, y, epochs: Epochs, batchSize: 16, validationData: (xv, yv), callbacks: [es2], verbose: 0, initialEpoch: resumed.Epoch);

        Assert.That((es2.StoppedEpoch, es2.BestEpoch, es2.Best, es2.RestoredBestWeights), Is.EqualTo((es.StoppedEpoch, es.BestEpoch, es.Best, true)));
        Assert.That(h2["val_loss"], Is.EqualTo(h1["val_loss"].Skip(k)));
        TestModels.AssertSame(TestModels.Snapshot(resumed.Model), TestModels.Snapshot(straight), "resumed vs straight (the best weights restored)");

        // Guard: without the state the resumed run starts its patience afresh and ends elsewhere.
        var fresh = ModelIO.LoadCheckpoint(ckpt.SavedPaths[^1]);
        var es3 = new EarlyStopping(patience: 3, restoreBestWeights: true);
        fresh.Model.Fit(x, y, epochs: Epochs, batchSize: 16, validationData: (xv, yv), callbacks: [es3], verbose: 0, initialEpoch: fresh.Epoch);
        Assert.That(es3.StoppedEpoch, Is.Not.EqualTo(es.StoppedEpoch));
    }

    [Test]
    public void ReduceLrOnPlateauResumedReducesAsAnUninterruptedRun()
    {
        var (x, y, xv, yv) = Data();
        var straight = Create();
        var rl = new ReduceLROnPlateau(factor: 0.5, patience: 2, cooldown: 1);
        var h1 = straight.Fit(x, y, epochs: 12, batchSize: 16, validationData: (xv, yv), callbacks: [rl], verbose: 0);
        Assert.That(rl.Reductions, Has.Count.GreaterThanOrEqualTo(2), "the test needs reductions on both sides of the checkpoint");
        int k = rl.Reductions[0].Epoch + 2;

        var first = Create();
        var rl1 = new ReduceLROnPlateau(factor: 0.5, patience: 2, cooldown: 1);
        var ckpt = new ModelCheckpoint(Path.Combine(_dir, "rl-{epoch}.rnnx")) { States = [rl1] };
        first.Fit(x, y, epochs: k, batchSize: 16, validationData: (xv, yv), callbacks: [rl1, ckpt], verbose: 0);

        var resumed = ModelIO.LoadCheckpoint(ckpt.SavedPaths[^1]);
        var rl2 = new ReduceLROnPlateau(factor: 0.5, patience: 2, cooldown: 1);
        CheckpointedCallbacks.Restore(resumed.Metadata, resumed.Model, [rl2]);
        var h2 = resumed.Model.Fit(x, y, epochs: 12, batchSize: 16, validationData: (xv, yv), callbacks: [rl2], verbose: 0, initialEpoch: resumed.Epoch);
        Assert.That(rl2.Reductions, Is.EqualTo(rl.Reductions.Where(r => r.Epoch >= k)));
        Assert.That(h2["val_loss"], Is.EqualTo(h1["val_loss"].Skip(k)));
        TestModels.AssertSame(TestModels.Snapshot(resumed.Model), TestModels.Snapshot(straight), "resumed vs straight");
    }

    [Test]
    public void MalformedOrMismatchedStatesAreRefusedBeforeAnythingChanges()
    {
        var (x, y, xv, yv) = Data();
        var m = Create();
        var es = new EarlyStopping(patience: 5, restoreBestWeights: true);
        m.Fit(x, y, epochs: 2, batchSize: 16, validationData: (xv, yv), callbacks: [es], verbose: 0);
        string state = es.SaveState();

        var other = new Sequential(new SimpleRNN(3, inputShape: [null, 1]), new Dense(1));
        other.Build();
        Assert.That(() => new EarlyStopping().RestoreState(state, other), Throws.TypeOf<FormatException>().With.Message.Contains("best weight 0 is float32 [1, 6]; the model's is float32 [1, 3]"));
        Assert.That(() => new EarlyStopping(monitor: "loss").RestoreState(state, m), Throws.TypeOf<FormatException>().With.Message.Contains("watched 'val_loss'"));
        Assert.That(() => new EarlyStopping().RestoreState(state.Replace("\"wait\":", "\"wait\":-", StringComparison.Ordinal), m), Throws.TypeOf<FormatException>().With.Message.Contains("'wait'"));
        var meta = new Dictionary<string, string> { [CheckpointedCallbacks.KeyPrefix + "early_stopping"] = "{not json" };
        Assert.That(() => CheckpointedCallbacks.Restore(meta, m, [new EarlyStopping()]), Throws.TypeOf<FormatException>().With.Message.StartsWith("checkpoint metadata 'rnnx.callback.early_stopping': "));
        var fresh = new EarlyStopping();
        Assert.That(CheckpointedCallbacks.Restore(new Dictionary<string, string>(), m, [fresh]), Is.EqualTo(0), "no saved state: starts fresh");
    }
}
