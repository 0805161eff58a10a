using Rnnx.Losses;
using Rnnx.Models;
using Rnnx.Optimizers;
using Rnnx.Tests.TestUtilities;

namespace Rnnx.Tests.Models;

/// <summary>Sequential.TrainOnBatch: equal to one Fit step, and allocation-free in the steady state.</summary>
public class TrainOnBatchTests
{
    private static (Tensor X, Tensor Y) Batch(int n, int steps, int outputs, int seed)
    {
        var r = new System.Random(seed);
        var x = new float[n * steps];
        var y = new float[n * steps * outputs];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(r.NextDouble() - 0.5);
        for (int i = 0; i < y.Length; i++) y[i] = (float)(r.NextDouble() - 0.5);
        return (Tensor.FromArray(x, n, steps, 1), Tensor.FromArray(y, n, steps, outputs));
    }

    [Test]
    public void TrainOnBatch_EqualsOneUnshuffledFitStep()
    {
        var (x, y) = Batch(32, 50, 10, 1);
        var a = ChapterModels.Lstm();
        var b = ChapterModels.Lstm();
        a.Compile(new Nadam(), Loss.MeanSquaredError);
        b.Compile(new Nadam(), Loss.MeanSquaredError);
        double lossA = a.TrainOnBatch(x, y);
        var h = b.Fit(x, y, epochs: 1, batchSize: 32, shuffle: false, verbose: 0);
        Assert.That(lossA, Is.EqualTo(h["loss"][0]).Within(1e-6));
        var wa = a.GetWeights();
        var wb = b.GetWeights();
        for (int i = 0; i < wa.Length; i++)
            Assert.That(wa[i].ToFloatArray(), Is.EqualTo(wb[i].ToFloatArray()), $"weight {i} must be bit-identical");
    }

    [TestCase("lstm")]
    [TestCase("wavenet")]
    [TestCase("ln_rnn")]
    public void SteadyStateStep_AllocatesUnderOneKilobyte(string model)
    {
        var m = model switch { "lstm" => ChapterModels.Lstm(), "wavenet" => ChapterModels.WaveNet(), _ => ChapterModels.LnRnn() };
        m.Threads = 1;   // shards then run on the calling thread, the one whose allocations are counted
        m.Compile(new Nadam(), Loss.MeanSquaredError);
        var (x, y) = Batch(32, 50, 10, 2);
        long perStep = SteadyStateAllocation.BytesPerRun(() => m.TrainOnBatch(x, y), warmUps: 3, measured: 20).Max();
        Assert.That(perStep, Is.LessThan(1024), $"{model}: {perStep} bytes per training step");
    }
}
