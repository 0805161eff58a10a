namespace Rnnx.Tests.Models;

/// <summary>Predict splits large batches over the threads; each row's result must not depend on that.</summary>
public class ParallelPredictTests
{
    [TestCase("lstm")]
    [TestCase("wavenet")]
    [TestCase("ln_rnn")]
    public void Predict_TwoThreadsEqualsOneThread(string name)
    {
        Rnnx.Models.Sequential Make() => name switch { "lstm" => ChapterModels.Lstm(), "wavenet" => ChapterModels.WaveNet(), _ => ChapterModels.LnRnn() };
        var r = new System.Random(3);
        var xs = new float[100 * 60];
        for (int i = 0; i < xs.Length; i++) xs[i] = (float)(r.NextDouble() - 0.5);
        var x = Tensor.FromArray(xs, 100, 60, 1);
        var a = Make();
        var b = Make();
        a.Threads = 1;
        b.Threads = 2;
        var pa = a.Predict(x, batchSize: 100).ToFloatArray();
        var pb = b.Predict(x, batchSize: 100).ToFloatArray();
        var pc = b.Predict(x, batchSize: 7).ToFloatArray();
        // Rows are computed independently; only GEMM blocking over a different row count may change the last bits.
        Assert.That(pb, Is.EqualTo(pa).Within(1e-6f));
        Assert.That(pc, Is.EqualTo(pa).Within(1e-6f));
    }
}
