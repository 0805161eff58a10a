using System.Diagnostics;
using Rnnx.Models;
using Rnnx.Optimizers;

namespace Rnnx.Tests.Models;

/// <summary>
/// A short training run of every chapter architecture on a subset of the chapter's real data: the validation loss
/// must fall well below the naive forecast's MSE on the same validation subset (the notebook's naive forecasting cells,
/// ageron/handson-ml2 15_processing_sequences_using_rnns_and_cnns.ipynb).
/// Nadam (Keras 3 schedule) as in the notebook, with a larger learning rate than its default to learn in a few epochs.
/// </summary>
public class ChapterTrainingTests
{
    /// <summary>MSE of the naive one-step forecast (the last input value) on the first <paramref name="n"/> validation samples.</summary>
    private static double NaiveOneStep(int n)
    {
        var v = ChapterSlices.OneStep.Valid;
        double s = 0;
        for (int i = 0; i < n; i++)
        {
            double d = v.X[i * 50 + 49] - v.Y[i];
            s += d * d;
        }
        return s / n;
    }

    /// <summary>
    /// MSE of the naive sequence forecast: every horizon predicted as the value at the current step,
    /// Y[n, t, k] ≈ X[n, t], over the time steps <paramref name="steps"/> (all 50, or the Conv+GRU's 3, 5, ..., 49).
    /// </summary>
    private static double NaiveSequence(int n, IReadOnlyList<int> steps)
    {
        var v = ChapterSlices.TenStep.ValidSequence;
        double s = 0;
        for (int i = 0; i < n; i++)
            foreach (int t in steps)
                for (int k = 0; k < 10; k++)
                {
                    double d = v.X[i * 50 + t] - v.Y[(i * 50 + t) * 10 + k];
                    s += d * d;
                }
        return s / (n * steps.Count * 10);
    }

    /// <summary>MSE of the naive forecast at the last time step only (the naive value of last_time_step_mse).</summary>
    private static double NaiveLastStep(int n, int lastT = 49) => NaiveSequence(n, [lastT]);

    private static readonly int[] AllSteps = Enumerable.Range(0, 50).ToArray();
    private static readonly int[] ConvSteps = Enumerable.Range(0, 24).Select(j => 3 + 2 * j).ToArray();

    private static History Train(Sequential m, (Tensor X, Tensor Y) train, (Tensor X, Tensor Y) valid, int epochs, double lr,
        bool lastStepMetric = false)
    {
        if (lastStepMetric) m.Compile(new Nadam(lr), "mse", ChapterModels.LastTimeStepMse);
        else m.Compile(new Nadam(lr), "mse");
        var sw = Stopwatch.StartNew();
        var h = m.Fit(train.X, train.Y, epochs: epochs, validationData: valid, verbose: 0);
        sw.Stop();
        TestContext.Out.WriteLine($"{m.Name}: {sw.Elapsed.TotalSeconds:F2}s; " +
            string.Join("; ", h.Keys.Select(k => $"{k} {string.Join(" → ", h[k].Select(v => v.ToString("G4")))}")));
        Assert.That(h.Epochs, Is.EqualTo(epochs));
        return h;
    }

    private static (Tensor, Tensor) OneStepTrain(int n) => ChapterSlices.Take(ChapterSlices.OneStep.Train, n);
    private static (Tensor, Tensor) OneStepValid(int n) => ChapterSlices.Take(ChapterSlices.OneStep.Valid, n);
    private static (Tensor, Tensor) SeqTrain(int n) => ChapterSlices.Take(ChapterSlices.TenStep.TrainSequence, n);
    private static (Tensor, Tensor) SeqValid(int n) => ChapterSlices.Take(ChapterSlices.TenStep.ValidSequence, n);

    private static void AssertWellBelow(double value, double naive, double fraction, string what)
    {
        TestContext.Out.WriteLine($"{what}: {value:G4} vs naive {naive:G4} ({value / naive:P0})");
        Assert.That(value, Is.LessThan(fraction * naive), $"{what} {value:G4} should be below {fraction:P0} of the naive {naive:G4}");
    }

    [Test]
    public void Linear()
    {
        const int nv = 500;
        var h = Train(ChapterModels.Linear(), OneStepTrain(7000), OneStepValid(nv), epochs: 5, lr: 0.01);
        AssertWellBelow(h["val_loss"][^1], NaiveOneStep(nv), 0.35, "val_loss");
        Assert.That(h["loss"][^1], Is.LessThan(h["loss"][0]));
    }

    [Test]
    public void SimpleRnn()
    {
        const int nv = 500;
        var h = Train(ChapterModels.SimpleRnn(), OneStepTrain(7000), OneStepValid(nv), epochs: 4, lr: 0.01);
        AssertWellBelow(h["val_loss"][^1], NaiveOneStep(nv), 0.8, "val_loss");
    }

    [Test]
    public void DeepRnn()
    {
        const int nv = 500;
        var h = Train(ChapterModels.DeepRnn(), OneStepTrain(1000), OneStepValid(nv), epochs: 3, lr: 0.005);
        AssertWellBelow(h["val_loss"][^1], NaiveOneStep(nv), 0.5, "val_loss");
    }

    [Test]
    public void SeqToSeqSimpleRnn()
    {
        const int nv = 500;
        var h = Train(ChapterModels.SeqToSeq(), SeqTrain(1000), SeqValid(nv), epochs: 3, lr: 0.01, lastStepMetric: true);
        AssertWellBelow(h["val_loss"][^1], NaiveSequence(nv, AllSteps), 0.5, "val_loss");
        AssertWellBelow(h["val_last_time_step_mse"][^1], NaiveLastStep(nv), 0.5, "val_last_time_step_mse");
    }

    [Test]
    public void LnRnn()
    {
        const int nv = 500;
        var h = Train(ChapterModels.LnRnn(), SeqTrain(1000), SeqValid(nv), epochs: 3, lr: 0.01, lastStepMetric: true);
        AssertWellBelow(h["val_loss"][^1], NaiveSequence(nv, AllSteps), 0.5, "val_loss");
        AssertWellBelow(h["val_last_time_step_mse"][^1], NaiveLastStep(nv), 0.5, "val_last_time_step_mse");
    }

    [Test]
    public void Lstm()
    {
        const int nv = 500;
        var h = Train(ChapterModels.Lstm(), SeqTrain(1000), SeqValid(nv), epochs: 3, lr: 0.01, lastStepMetric: true);
        AssertWellBelow(h["val_loss"][^1], NaiveSequence(nv, AllSteps), 0.5, "val_loss");
        AssertWellBelow(h["val_last_time_step_mse"][^1], NaiveLastStep(nv), 0.5, "val_last_time_step_mse");
    }

    [Test]
    public void Gru()
    {
        const int nv = 500;
        var h = Train(ChapterModels.Gru(), SeqTrain(1000), SeqValid(nv), epochs: 3, lr: 0.01, lastStepMetric: true);
        AssertWellBelow(h["val_loss"][^1], NaiveSequence(nv, AllSteps), 0.5, "val_loss");
        AssertWellBelow(h["val_last_time_step_mse"][^1], NaiveLastStep(nv), 0.5, "val_last_time_step_mse");
    }

    [Test]
    public void ConvGru()
    {
        const int nv = 500;
        var (x, y) = SeqTrain(700);
        var (vx, vy) = SeqValid(nv);
        // The notebook's targets Y[:, 3::2]: output j of the stride-2, kernel-4 convolution sees steps 2j .. 2j+3.
        var train = (x, Tensor.Slice(y, 1, 3, null, 2));
        var valid = (vx, Tensor.Slice(vy, 1, 3, null, 2));
        Assert.That(train.Item2.Shape, Is.EqualTo(new Shape(700, 24, 10)));
        var h = Train(ChapterModels.ConvGru(), train, valid, epochs: 3, lr: 0.01, lastStepMetric: true);
        AssertWellBelow(h["val_loss"][^1], NaiveSequence(nv, ConvSteps), 0.5, "val_loss");
        AssertWellBelow(h["val_last_time_step_mse"][^1], NaiveLastStep(nv), 0.5, "val_last_time_step_mse");
    }

    [Test]
    public void WaveNet()
    {
        const int nv = 500;
        var h = Train(ChapterModels.WaveNet(), SeqTrain(700), SeqValid(nv), epochs: 3, lr: 0.01, lastStepMetric: true);
        AssertWellBelow(h["val_loss"][^1], NaiveSequence(nv, AllSteps), 0.5, "val_loss");
        AssertWellBelow(h["val_last_time_step_mse"][^1], NaiveLastStep(nv), 0.5, "val_last_time_step_mse");
    }

    [Test]
    public void NaiveBaselines_MatchTheNotebookOnTheFullValidationSet()
    {
        // Sanity of the baselines used above: the project's notebook prints 0.021185566 for the one-step naive forecast;
        // the ten-step naive forecast is about 0.25 (0.25697 printed by ageron/handson-ml2's notebook at d9a89eb, after the
        // baseline fix of ageron/handson-ml2#421).
        Assert.That(NaiveOneStep(2000), Is.EqualTo(0.021185566).Within(2e-6));
        Assert.That(NaiveLastStep(2000), Is.InRange(0.2, 0.3));
    }
}
