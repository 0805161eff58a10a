using Rnnx.Data;

namespace Rnnx.Tests.Data;

/// <summary>Scalers: fitted on the training part only, per-window transforms and their exact inverses.</summary>
public sealed class SeriesScalerTests
{
    private static readonly float[] Train = [10, 12, 11, 15, 14, 18, 17, 21];

    [Test]
    public void StandardUsesTrainingMeanAndStd()
    {
        var s = SeriesScaler.Fit(SeriesScaling.Standard, Train);
        var (mean, std) = Windowing.Statistics(Train);
        Assert.That((s.Center, s.Scale), Is.EqualTo((mean, std)));
        var x = new float[3];
        var y = new float[1];
        s.Transform([10, 12, 11, 15], x, y);
        Assert.That(x[0], Is.EqualTo((float)((10 - mean) / std)));
        Assert.That(y[0], Is.EqualTo((float)((15 - mean) / std)));
        var f = new float[1];
        s.Inverse([10, 12, 11], y, f);
        Assert.That(f[0], Is.EqualTo(15f).Within(1e-5));
    }

    [Test]
    public void PerWindowScalingsIgnoreALevelShift()
    {
        foreach (var m in new[] { SeriesScaling.LastValue, SeriesScaling.WindowMean, SeriesScaling.Difference })
        {
            var s = SeriesScaler.Fit(m, Train);
            Assert.That(s.Scale, Is.GreaterThan(0));
            float[] raw = [3, 5, 4, 8, 9, 7], shifted = raw.Select(v => v + 1000f).ToArray();
            int w = 4 - s.Lookback;
            var (x1, y1, x2, y2) = (new float[w], new float[2], new float[w], new float[2]);
            s.Transform(raw, x1, y1);
            s.Transform(shifted, x2, y2);
            Assert.That(x2, Is.EqualTo(x1), $"{m}: inputs do not move with the level");
            Assert.That(y2, Is.EqualTo(y1), $"{m}: targets do not move with the level");
            var f = new float[2];
            s.Inverse(shifted.AsSpan(0, 4), y2, f);
            Assert.That(f, Is.EqualTo(new[] { 1009f, 1007f }).Within(1e-3), $"{m}: the inverse gives the targets back");
        }
    }

    [Test]
    public void LastValueAndDifferenceByHand()
    {
        var lv = new SeriesScaler(SeriesScaling.LastValue, 0, 2);
        var (x, y) = (new float[3], new float[2]);
        lv.Transform([1, 2, 5, 9, 3], x, y);
        Assert.That(x, Is.EqualTo(new[] { -2f, -1.5f, 0f }));
        Assert.That(y, Is.EqualTo(new[] { 2f, -1f }));
        var d = new SeriesScaler(SeriesScaling.Difference, 0, 2);
        Assert.That(d.Lookback, Is.EqualTo(1));
        d.Transform([1, 2, 5, 9, 3], x, y.AsSpan(0, 1));
        Assert.That(x, Is.EqualTo(new[] { 0.5f, 1.5f, 2f }));
        Assert.That(y[0], Is.EqualTo(-3f));
        var f = new float[2];
        d.Inverse([1, 2, 5, 9], [1f, -0.5f], f);
        Assert.That(f, Is.EqualTo(new[] { 11f, 10f }), "forecast differences are summed back onto the last value");
    }

    [Test]
    public void BadArgumentsAreNamed()
    {
        Assert.That(Assert.Throws<ArgumentException>(() => SeriesScaler.Fit(SeriesScaling.Standard, [1f]))!.Message, Does.Contain("at least 2"));
        Assert.That(Assert.Throws<ArgumentException>(() => SeriesScaler.Fit(SeriesScaling.LastValue, [1f, float.NaN]))!.Message, Does.Contain("index 1"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => new SeriesScaler(SeriesScaling.Standard, 0, 0))!.ParamName, Is.EqualTo("scale"));
        Assert.That(Assert.Throws<ArgumentException>(() => SeriesScaler.Parse("minmax"))!.Message, Does.Contain("standard, last_value, window_mean, difference"));
        Assert.That(SeriesScaler.Parse(SeriesScaler.NameOf(SeriesScaling.WindowMean)), Is.EqualTo(SeriesScaling.WindowMean));
        Assert.That(SeriesScaler.Fit(SeriesScaling.LastValue, [5f, 5f, 5f]).Scale, Is.EqualTo(1.0), "a constant series scales by 1");
    }

    [Test]
    public void TransformRefusesRawValuesThatMissTheTargets()
    {
        // Three raw values fit a 3-value window but not the 2 targets asked for: an ArgumentException naming the
        // lengths, never an index past the end.
        var s = SeriesScaler.Fit(SeriesScaling.LastValue, Train);
        var e = Assert.Throws<ArgumentException>(() => s.Transform([1f, 2f, 3f], new float[3], new float[2]));
        Assert.That(e!.Message, Does.Contain("3 inputs + 2 targets"));
        Assert.Throws<ArgumentException>(() => s.Transform([], [], []), "an empty window has no reference value");
    }
}
