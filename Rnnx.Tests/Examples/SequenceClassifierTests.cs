using SequenceClassifier;

namespace Rnnx.Tests.Examples;

/// <summary>
/// The sequence-classifier example (examples/SequenceClassifier): Embedding(maskZero) + LSTM/GRU + softmax learns which
/// generator made a token sequence of its own length, on held-out data; smaller than the documented run so it stays fast.
/// </summary>
public class SequenceClassifierTests
{
    [TestCase("lstm")]
    [TestCase("gru")]
    public void LearnsTheGenerators_OnHeldOutSequences(string cell)
    {
        var options = new ClassifierOptions { TrainSamples = 1200, TestSamples = 300, MaxLength = 30, Epochs = 8, Cell = cell };
        var result = Classifier.Run(options);
        Assert.That(result.TestAccuracy, Is.GreaterThan(0.85), $"held-out accuracy {result.TestAccuracy}");
    }

    [Test]
    public void SameSeed_SameResult()
    {
        var options = new ClassifierOptions { TrainSamples = 96, TestSamples = 48, MaxLength = 12, Epochs = 1 };
        var first = Classifier.Run(options);
        var second = Classifier.Run(options);
        Assert.That(second.TestLoss, Is.EqualTo(first.TestLoss));
        Assert.That(second.Model.GetWeights().Select(w => w.ToFloatArray()), Is.EqualTo(first.Model.GetWeights().Select(w => w.ToFloatArray())));
    }

    [Test]
    public void Data_IsReproducible_RightPadded_AndBalanced()
    {
        var set = new TokenSequences(30, 3, 9, 7, 0.1, Seed: 5);
        var (ids, labels, lengths) = set.Generate();
        Assert.That(set.Generate().Ids.ToFloatArray(), Is.EqualTo(ids.ToFloatArray()));
        var v = ids.ToFloatArray();
        for (int s = 0; s < 30; s++)
        {
            Assert.That(lengths[s], Is.InRange(3, 9));
            for (int t = 0; t < 9; t++) Assert.That(v[s * 9 + t] == 0, Is.EqualTo(t >= lengths[s]), $"sample {s} step {t}: padding exactly after the length");
        }
        Assert.That(labels.ToFloatArray().GroupBy(l => l).Select(g => g.Count()), Is.All.EqualTo(10));
        Assert.Throws<ArgumentException>(() => new TokenSequences(10, 5, 4, 7, 0.1, 1).Generate());
    }
}
