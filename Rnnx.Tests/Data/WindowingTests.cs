using Rnnx.Data;

namespace Rnnx.Tests.Data;

[TestFixture]
public sealed class WindowingTests
{
    [Test]
    public void WindowsLikeTimeseriesDatasetFromArray()
    {
        var s = Enumerable.Range(0, 10).Select(i => (float)i).ToArray();
        var d = Windowing.Make(s, window: 4, horizon: 2);
        Assert.That(d.XShape, Is.EqualTo(new[] { 5, 4, 1 }));
        Assert.That(d.YShape, Is.EqualTo(new[] { 5, 2 }));
        Assert.That(d.X.Take(8), Is.EqualTo(new float[] { 0, 1, 2, 3, 1, 2, 3, 4 }));
        Assert.That(d.Y, Is.EqualTo(new float[] { 4, 5, 5, 6, 6, 7, 7, 8, 8, 9 }));
        var strided = Windowing.Make(s, 4, 2, stride: 3);
        Assert.That(strided.XShape[0], Is.EqualTo(2));
        Assert.That(strided.Y, Is.EqualTo(new float[] { 4, 5, 7, 8 }));
        var e = Assert.Throws<ArgumentException>(() => Windowing.Make(s, 8, 3))!;
        Assert.That(e.Message, Does.Contain("10 values").And.Contain("at least 11"));
    }

    [Test]
    public void SplitKeepsTimeOrderWithoutLeakingTargets()
    {
        var s = Enumerable.Range(0, 100).Select(i => (float)i).ToArray();
        var (train, valid) = Windowing.MakeSplit(s, window: 10, horizon: 3, validationFraction: 0.2);
        Assert.That(train.Y.Max(), Is.LessThan(80));
        Assert.That(valid.Y.Min(), Is.GreaterThanOrEqualTo(80));
        Assert.That(valid.X.Min(), Is.EqualTo(70));
        Assert.That(valid.Y.Max(), Is.EqualTo(99));
        Assert.That((train.XShape[0], valid.XShape[0]), Is.EqualTo((68, 18)));
        int min = (int)Windowing.MinimumLength(10, 3, 0.2);
        Assert.DoesNotThrow(() => Windowing.MakeSplit(s.AsSpan(0, min), 10, 3, 0.2));
        Assert.Throws<ArgumentException>(() => Windowing.MakeSplit(s.AsSpan(0, min - 1), 10, 3, 0.2));
        Assert.That(Windowing.Statistics([1f, 3f]), Is.EqualTo((2.0, 1.0)));
    }
}
