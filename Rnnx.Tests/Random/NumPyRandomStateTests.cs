using Rnnx.Random;

namespace Rnnx.Tests.Random;

/// <summary>
/// Pins <see cref="NumPyRandomState"/> against numpy 1.24.2's legacy RandomState. Every literal below was produced
/// by the Python snippet in the comment above it (run with /usr/bin/python3, <c>import numpy as np</c>).
/// </summary>
public class NumPyRandomStateTests
{
    // rs = np.random.RandomState(seed); rs._bit_generator.random_raw(10)
    // (identical to rs.randint(0, 2**32, size=10, dtype=np.uint32))
    private static IEnumerable<TestCaseData> RawCases()
    {
        yield return new TestCaseData(0U, new uint[]
        {
            2357136044U, 2546248239U, 3071714933U, 3626093760U, 2588848963U,
            3684848379U, 2340255427U, 3638918503U, 1819583497U, 2678185683U,
        }).SetName("NextUInt32_Seed0");
        yield return new TestCaseData(42U, new uint[]
        {
            1608637542U, 3421126067U, 4083286876U, 787846414U, 3143890026U,
            3348747335U, 2571218620U, 2563451924U, 670094950U, 1914837113U,
        }).SetName("NextUInt32_Seed42");
        yield return new TestCaseData(uint.MaxValue, new uint[]
        {
            419326371U, 479346978U, 3918654476U, 2416749639U, 3388880820U,
            2260532800U, 3350089942U, 3309765114U, 77050329U, 1217888032U,
        }).SetName("NextUInt32_Seed2pow32minus1");
    }

    [TestCaseSource(nameof(RawCases))]
    public void NextUInt32_MatchesNumPy(uint seed, uint[] expected)
    {
        var rng = new NumPyRandomState(seed);
        var actual = new uint[expected.Length];
        for (int i = 0; i < actual.Length; i++)
        {
            actual[i] = rng.NextUInt32();
        }
        Assert.That(actual, Is.EqualTo(expected));
    }

    // rs = np.random.RandomState(seed); rs.random_sample(8)   (== np.random.seed(seed); np.random.rand(8))
    private static IEnumerable<TestCaseData> DoubleCases()
    {
        yield return new TestCaseData(0U, new[]
        {
            0.5488135039273248, 0.7151893663724195, 0.6027633760716439, 0.5448831829968969,
            0.4236547993389047, 0.6458941130666561, 0.4375872112626925, 0.8917730007820798,
        }).SetName("NextDouble_Seed0");
        yield return new TestCaseData(42U, new[]
        {
            0.3745401188473625, 0.9507143064099162, 0.7319939418114051, 0.5986584841970366,
            0.15601864044243652, 0.15599452033620265, 0.05808361216819946, 0.8661761457749352,
        }).SetName("NextDouble_Seed42");
        yield return new TestCaseData(uint.MaxValue, new[]
        {
            0.0976320289940138, 0.9123828453026218, 0.78903530185164, 0.7800035981134678,
            0.01793967398674523, 0.9695059322147525, 0.5931753493510109, 0.14611715599393837,
        }).SetName("NextDouble_Seed2pow32minus1");
    }

    [TestCaseSource(nameof(DoubleCases))]
    public void NextDouble_MatchesNumPy(uint seed, double[] expected)
    {
        var rng = new NumPyRandomState(seed);
        var actual = new double[expected.Length];
        for (int i = 0; i < actual.Length; i++)
        {
            actual[i] = rng.NextDouble();
        }
        Assert.That(actual, Is.EqualTo(expected));
    }

    [TestCaseSource(nameof(DoubleCases))]
    public void Rand_ShapeAndSpan_MatchNumPy(uint seed, double[] expected)
    {
        // np.random.rand(2, 4) is the same stream laid out in C order.
        double[] shaped = new NumPyRandomState(seed).Rand(2, 4);
        Assert.That(shaped, Is.EqualTo(expected));

        var span = new double[expected.Length];
        new NumPyRandomState(seed).Rand(span.AsSpan());
        Assert.That(span, Is.EqualTo(expected));
    }

    [Test]
    public void Rand_ShapeEdgeCases()
    {
        var rng = new NumPyRandomState(0);
        Assert.That(rng.Rand(3, 0, 5), Is.Empty);
        // np.random.seed(0); np.random.rand() -> 0.5488135039273248 (an empty shape is a scalar draw)
        Assert.That(rng.Rand(), Is.EqualTo(new[] { 0.5488135039273248 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => rng.Rand(2, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => rng.Rand(0, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => rng.Rand(int.MaxValue, 2));
    }

    [Test]
    public void Seed_KeyMatchesNumPyGetState()
    {
        // np.random.seed(0); st = np.random.get_state(); st[1][:3], st[1][623], st[2], st[3], st[4]
        //   -> [0 1 1812433255] 1796872496 624 0 0.0
        MT19937State s0 = new NumPyRandomState(0).GetState();
        Assert.That(s0.Key, Has.Length.EqualTo(NumPyRandomState.StateLength));
        Assert.That(new[] { s0.Key[0], s0.Key[1], s0.Key[2], s0.Key[623] }, Is.EqualTo(new[] { 0U, 1U, 1812433255U, 1796872496U }));
        Assert.That(s0.Position, Is.EqualTo(624));
        Assert.That(s0.HasGauss, Is.False);
        Assert.That(s0.Gauss, Is.EqualTo(0.0));

        // np.random.seed(42); st = np.random.get_state(); st[1][:3], st[1][623], st[2]
        //   -> [42 3107752595 1895908407] 26719530 624
        MT19937State s42 = new NumPyRandomState(42).GetState();
        Assert.That(new[] { s42.Key[0], s42.Key[1], s42.Key[2], s42.Key[623] }, Is.EqualTo(new[] { 42U, 3107752595U, 1895908407U, 26719530U }));
        Assert.That(s42.Position, Is.EqualTo(624));

        // np.random.seed(42); np.random.rand(700); st = np.random.get_state(); st[1][:3], st[1][623], st[2]
        //   -> [3782606071 3806089009 3261677922] 3148904466 152
        var rng = new NumPyRandomState(42);
        rng.Rand(700);
        MT19937State s = rng.GetState();
        Assert.That(new[] { s.Key[0], s.Key[1], s.Key[2], s.Key[623] }, Is.EqualTo(new[] { 3782606071U, 3806089009U, 3261677922U, 3148904466U }));
        Assert.That(s.Position, Is.EqualTo(152));
    }

    [Test]
    public void Seed_ResetsStreamAndCachedGauss()
    {
        var rng = new NumPyRandomState(7);
        rng.StandardNormal(); // leaves a cached value
        rng.Seed(0);
        Assert.That(rng.GetState(), Is.EqualTo(new NumPyRandomState(0).GetState()));
        // np.random.seed(0); np.random.randn() -> 1.764052345967664
        Assert.That(rng.StandardNormal(), Is.EqualTo(1.764052345967664));
    }

    [Test]
    public void NextUInt64_HighWordFirst()
    {
        // rs = np.random.RandomState(0); rs.randint(0, 2**64, size=3, dtype=np.uint64)
        //   (equal to (raw[2i] << 32) | raw[2i+1] of rs._bit_generator.random_raw(6))
        var rng = new NumPyRandomState(0);
        Assert.That(new[] { rng.NextUInt64(), rng.NextUInt64(), rng.NextUInt64() },
            Is.EqualTo(new[] { 10123822223749065263UL, 13192915183495924928UL, 11119021634053362427UL }));
    }

    // np.random.seed(0); np.random.randn(9)
    private static readonly double[] Randn9Seed0 =
    [
        1.764052345967664, 0.4001572083672233, 0.9787379841057392, 2.240893199201458, 1.8675579901499675,
        -0.977277879876411, 0.9500884175255894, -0.1513572082976979, -0.10321885179355784,
    ];

    [Test]
    public void StandardNormal_MatchesNumPyRandn()
    {
        var rng = new NumPyRandomState(0);
        var actual = new double[Randn9Seed0.Length];
        for (int i = 0; i < actual.Length; i++)
        {
            actual[i] = rng.StandardNormal();
        }
        Assert.That(actual, Is.EqualTo(Randn9Seed0));

        var span = new double[Randn9Seed0.Length];
        new NumPyRandomState(0).StandardNormal(span.AsSpan());
        Assert.That(span, Is.EqualTo(Randn9Seed0));

        Assert.That(new NumPyRandomState(0).Randn(3, 3), Is.EqualTo(Randn9Seed0));
    }

    [Test]
    public void StandardNormal_CachedValueSurvivesUniformDraws()
    {
        // np.random.seed(0); np.random.randn(5); st = np.random.get_state(); st[2], st[3], st[4]
        //   -> 12 1 -0.977277879876411
        // np.random.randn(2) -> [-0.97727788, 0.95008842]; np.random.rand() -> 0.9636627605010293
        var rng = new NumPyRandomState(0);
        rng.Randn(5);
        MT19937State state = rng.GetState();
        Assert.That(state.Position, Is.EqualTo(12));
        Assert.That(state.HasGauss, Is.True);
        Assert.That(state.Gauss, Is.EqualTo(-0.977277879876411));

        Assert.That(rng.StandardNormal(), Is.EqualTo(-0.977277879876411));
        Assert.That(rng.StandardNormal(), Is.EqualTo(0.9500884175255894));
        Assert.That(rng.NextDouble(), Is.EqualTo(0.9636627605010293));
    }

    [Test]
    public void Permutation10_Seed42_MatchesNumPy()
    {
        // np.random.seed(42); np.random.permutation(10)
        var rng = new NumPyRandomState(42);
        Assert.That(rng.Permutation(10), Is.EqualTo(new[] { 8, 1, 5, 0, 7, 2, 9, 4, 3, 6 }));
    }

    [Test]
    public void Permutation7000_Seed42_MatchesNumPy()
    {
        // np.random.seed(42); p = np.random.permutation(7000); p[:5], p[-5:]
        //   -> [6500, 2944, 2024, 263, 4350] [3772, 5191, 5226, 5390, 860]
        int[] p = new NumPyRandomState(42).Permutation(7000);
        Assert.That(p[..5], Is.EqualTo(new[] { 6500, 2944, 2024, 263, 4350 }));
        Assert.That(p[^5..], Is.EqualTo(new[] { 3772, 5191, 5226, 5390, 860 }));
        Assert.That(p.Order(), Is.EqualTo(Enumerable.Range(0, 7000)));
    }

    [Test]
    public void Shuffle_MatchesNumPy()
    {
        // np.random.seed(42); a = np.arange(20); np.random.shuffle(a); a
        int[] expected = [0, 17, 15, 1, 8, 5, 11, 3, 18, 16, 13, 2, 9, 19, 4, 12, 7, 10, 14, 6];

        int[] ints = Enumerable.Range(0, 20).ToArray();
        new NumPyRandomState(42).Shuffle(ints);
        Assert.That(ints, Is.EqualTo(expected));

        // The element type does not affect the draws.
        string[] names = Enumerable.Range(0, 20).Select(i => $"s{i}").ToArray();
        new NumPyRandomState(42).Shuffle(names.AsSpan());
        Assert.That(names, Is.EqualTo(expected.Select(i => $"s{i}")));
    }

    [Test]
    public void Permutation_TrivialSizesDrawNothing()
    {
        var rng = new NumPyRandomState(3);
        MT19937State before = rng.GetState();
        Assert.That(rng.Permutation(0), Is.Empty);
        Assert.That(rng.Permutation(1), Is.EqualTo(new[] { 0 }));
        Assert.That(rng.GetState(), Is.EqualTo(before));
        Assert.Throws<ArgumentOutOfRangeException>(() => rng.Permutation(-1));
    }

    [Test]
    public void RandInt_MatchesNumPy()
    {
        // np.random.seed(0)
        // [np.random.randint(0, 10) for _ in range(5)], np.random.randint(-5, 5),
        // np.random.randint(0, 2**31-1), np.random.randint(7, 8), np.random.randint(-2**31, 2**31-1),
        // np.random.randint(0, 10)
        //   -> [5, 0, 3, 3, 7] 4 530702035 7 626610453 2
        var rng = new NumPyRandomState(0);
        int[] first = [rng.RandInt(0, 10), rng.RandInt(0, 10), rng.RandInt(0, 10), rng.RandInt(10), rng.RandInt(0, 10)];
        Assert.That(first, Is.EqualTo(new[] { 5, 0, 3, 3, 7 }));
        Assert.That(rng.RandInt(-5, 5), Is.EqualTo(4));
        Assert.That(rng.RandInt(0, int.MaxValue), Is.EqualTo(530702035));
        Assert.That(rng.RandInt(7, 8), Is.EqualTo(7));
        Assert.That(rng.RandInt(int.MinValue, int.MaxValue), Is.EqualTo(626610453));
        Assert.That(rng.RandInt(0, 10), Is.EqualTo(2));
    }

    [Test]
    public void RandInt_EmptyRangeThrows()
    {
        var rng = new NumPyRandomState(0);
        Assert.Throws<ArgumentException>(() => rng.RandInt(5, 5));
        Assert.Throws<ArgumentException>(() => rng.RandInt(6, 5));
        Assert.Throws<ArgumentException>(() => rng.RandInt(0));
    }

    [Test]
    public void State_RoundTripReproducesStream()
    {
        var rng = new NumPyRandomState(42);
        rng.Rand(1000);
        rng.StandardNormal(); // cache a Gaussian so it is part of the checkpoint
        MT19937State checkpoint = rng.GetState();
        Assert.That(checkpoint.HasGauss, Is.True);

        double[] expected = [rng.StandardNormal(), .. rng.Rand(700), rng.StandardNormal(), rng.RandInt(0, 1000)];

        rng.SetState(checkpoint);
        double[] replay = [rng.StandardNormal(), .. rng.Rand(700), rng.StandardNormal(), rng.RandInt(0, 1000)];
        Assert.That(replay, Is.EqualTo(expected));

        var restored = new NumPyRandomState(checkpoint);
        double[] fresh = [restored.StandardNormal(), .. restored.Rand(700), restored.StandardNormal(), restored.RandInt(0, 1000)];
        Assert.That(fresh, Is.EqualTo(expected));
    }

    [Test]
    public void State_IsACopyAndComparesByValue()
    {
        var rng = new NumPyRandomState(5);
        MT19937State snapshot = rng.GetState();
        MT19937State again = rng.GetState();
        Assert.That(snapshot.Key, Is.Not.SameAs(again.Key));
        Assert.That(snapshot, Is.EqualTo(again));
        Assert.That(snapshot.GetHashCode(), Is.EqualTo(again.GetHashCode()));

        rng.Rand(10);
        Assert.That(rng.GetState(), Is.Not.EqualTo(snapshot));
        Assert.That(snapshot, Is.EqualTo(new NumPyRandomState(5).GetState()), "drawing must not alter an earlier snapshot");

        rng.SetState(snapshot);
        snapshot.Key[0] ^= 1U; // mutating the snapshot must not alter the restored generator
        Assert.That(rng.GetState(), Is.EqualTo(new NumPyRandomState(5).GetState()));
    }

    [Test]
    public void SetState_RejectsBadStates()
    {
        var rng = new NumPyRandomState(1);
        MT19937State before = rng.GetState();
        uint[] key = before.Key;

        var shortKey = Assert.Throws<ArgumentException>(() => rng.SetState(before with { Key = new uint[623] }))!;
        Assert.That(shortKey.Message, Does.Contain("624").And.Contain("623"));
        Assert.That(shortKey.ParamName, Is.EqualTo("state"));
        Assert.Throws<ArgumentException>(() => rng.SetState(before with { Key = new uint[625] }));
        Assert.Throws<ArgumentException>(() => rng.SetState(before with { Key = [] }));

        var badPos = Assert.Throws<ArgumentException>(() => rng.SetState(new MT19937State(key, 625, false, 0.0)))!;
        Assert.That(badPos.Message, Does.Contain("position").And.Contain("625"));
        Assert.Throws<ArgumentException>(() => rng.SetState(new MT19937State(key, -1, false, 0.0)));

        Assert.Throws<ArgumentNullException>(() => rng.SetState(null!));
        Assert.Throws<ArgumentNullException>(() => rng.SetState(before with { Key = null! }));
        Assert.Throws<ArgumentException>(() => _ = new NumPyRandomState(before with { Position = 700 }));

        Assert.That(rng.GetState(), Is.EqualTo(before), "a rejected state must leave the generator untouched");

        // Both ends of the valid position range are accepted.
        Assert.DoesNotThrow(() => rng.SetState(before with { Position = 0 }));
        Assert.DoesNotThrow(() => rng.SetState(before with { Position = 624 }));
    }
}
