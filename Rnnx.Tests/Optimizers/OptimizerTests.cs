using System.Text.Json;
using Rnnx.Optimization;
using Rnnx.Optimizers;
using Rnnx.Tests.TestUtilities;
using static Rnnx.Tests.Optimizers.OptimizerTestHelpers;

namespace Rnnx.Tests.Optimizers;

/// <summary>
/// Behaviour shared by every optimizer (the <see cref="Optimizer"/> base): frozen and gradient-less parameters,
/// validation, the vector/scalar code paths, allocation, and checkpoint state.
/// </summary>
public class OptimizerTests
{
    public static IEnumerable<TestCaseData> Configurations()
    {
        yield return Config("Sgd", () => new Sgd(learningRate: 0.1));
        yield return Config("SgdMomentum", () => new Sgd(learningRate: 0.1, momentum: 0.9));
        yield return Config("SgdNesterov", () => new Sgd(learningRate: 0.1, momentum: 0.9, nesterov: true));
        yield return Config("Adam", () => new Adam(learningRate: 0.01));
        yield return Config("AdamAmsgrad", () => new Adam(learningRate: 0.01, beta2: 0.5, amsgrad: true));
        yield return Config("Nadam", () => new Nadam(learningRate: 0.01));
        yield return Config("NadamLegacy", () => new Nadam(learningRate: 0.01, schedule: NadamSchedule.Legacy));
        yield return Config("RmsProp", () => new RmsProp(learningRate: 0.01));
        yield return Config("RmsPropCenteredMomentum", () => new RmsProp(learningRate: 0.01, momentum: 0.5, centered: true));

        static TestCaseData Config(string name, Func<Optimizer> create) => new TestCaseData(create).SetArgDisplayNames(name);
    }

    private static float[] RandomFloats(System.Random rng, int n, double scale) => [.. Enumerable.Range(0, n).Select(_ => (float)((rng.NextDouble() * 2 - 1) * scale))];

    private static double[] RandomDoubles(System.Random rng, int n, double scale) => [.. Enumerable.Range(0, n).Select(_ => (rng.NextDouble() * 2 - 1) * scale)];

    [TestCaseSource(nameof(Configurations))]
    public void FrozenParameter_IsUntouchedAndGetsNoState(Func<Optimizer> create)
    {
        var opt = create();
        var live = Param("live", 1f, 2f);
        var frozen = new Parameter("frozen", Tensor.FromArray([3f, 4f], 2), trainable: false);
        var g = new Gradients();
        SetGradient(g, live, [0.5f, -0.5f]);
        SetGradient(g, frozen, [0.5f, -0.5f]);
        for (int s = 0; s < 3; s++) opt.Step([live, frozen], g);
        Assert.That(Values32(frozen), Is.EqualTo(new[] { 3f, 4f }));
        Assert.That(Values32(live), Is.Not.EqualTo(new[] { 1f, 2f }));
        var state = opt.GetState([live, frozen]);
        Assert.That(state.Parameters[1].Slots.SelectMany(s => s.Float32!), Is.All.EqualTo(0f));
    }

    [Test]
    public void ParameterWithoutGradient_IsSkippedLikeKerasNoneGradient()
    {
        // Keras filters out variables whose gradient is None: no update at all, moments included. With Adam a zero
        // gradient would still move the parameter (m ≠ 0 after step 1); a missing one must not.
        var opt = new Adam(learningRate: 0.1);
        var a = Param("a", 1.0);
        var b = Param("b", 1.0);
        var g1 = new Gradients();
        SetGradient(g1, a, [1.0]);
        SetGradient(g1, b, [1.0]);
        opt.Step([a, b], g1);
        double bAfterStep1 = b.AsSpan<double>()[0];
        var g2 = new Gradients();                      // b never touched: no gradient in this pass
        SetGradient(g2, a, [1.0]);
        Assert.That(g2.Contains(b), Is.False);
        opt.Step([a, b], g2);
        Assert.That(b.AsSpan<double>()[0], Is.EqualTo(bAfterStep1));
        Assert.That(opt.Iterations, Is.EqualTo(2));
    }

    [Test]
    public void NoGradientForAnyParameter_Throws_AndNoTrainableParameter_IsANoOp()
    {
        var opt = new Sgd();
        var p = Param("w", 1f);
        Assert.Throws<InvalidOperationException>(() => opt.Step([p], new Gradients()));
        Assert.That(opt.Iterations, Is.EqualTo(0));
        var frozen = new Parameter("frozen", Tensor.FromArray([1f], 1), trainable: false);
        opt.Step([frozen], new Gradients());              // Keras: apply() with no gradients returns without counting
        opt.Step([], new Gradients());
        Assert.That(opt.Iterations, Is.EqualTo(0));
    }

    [Test]
    public void DuplicateOrNullParameter_Throws_AndNothingChanges()
    {
        var opt = new Adam();
        var a = Param("a", 1f);
        var b = Param("b", 2f);
        var g = new Gradients();
        SetGradient(g, a, [1f]);
        SetGradient(g, b, [1f]);
        var ex = Assert.Throws<ArgumentException>(() => opt.Step([a, b, a], g));
        Assert.That(ex!.Message, Does.Contain("'a'"));
        Assert.Throws<ArgumentException>(() => opt.Step([a, null!], g));
        Assert.That(Values32(a), Is.EqualTo(new[] { 1f }));
        Assert.That(Values32(b), Is.EqualTo(new[] { 2f }));
        Assert.That(opt.Iterations, Is.EqualTo(0));
    }

    [Test]
    public void ParameterWhoseDTypeChanged_ThrowsNamingIt_UntilResetState()
    {
        var opt = new Nadam();
        var p = Param("dense/kernel", 1f, 2f);
        var g = new Gradients();
        SetGradient(g, p, [1f, 1f]);
        opt.Step([p], g);
        p.Reset(Tensor.FromArray([1.0, 2.0], 2), DType.Float64);   // the model switched to float64 for a gradient check
        SetGradient(g, p, [1.0, 1.0]);
        var ex = Assert.Throws<InvalidOperationException>(() => opt.Step([p], g));
        Assert.That(ex!.Message, Does.Contain("dense/kernel").And.Contain("Float32").And.Contain("Float64"));
        Assert.That(opt.Iterations, Is.EqualTo(1));
        opt.ResetState();
        Assert.That(opt.Iterations, Is.EqualTo(0));
        Assert.That(opt.MomentumProduct, Is.EqualTo(1.0));
        opt.Step([p], g);
        Assert.That(opt.Iterations, Is.EqualTo(1));
    }

    /// <summary>
    /// Every element is updated independently, so a parameter of length n (run through the 512/256/128-bit loops and
    /// the scalar tail) must match, bit for bit, n parameters of length 1 (scalar path only). Lengths 1..67 cover every
    /// mix of vector widths and tails for float (16/8/4 lanes) and double (8/4/2 lanes).
    /// </summary>
    [TestCaseSource(nameof(Configurations))]
    public void VectorPaths_MatchScalarPath_ForEveryLength(Func<Optimizer> create)
    {
        var rng = new System.Random(3);
        foreach (int n in Enumerable.Range(1, 67).Concat([127, 128, 129, 1000]))
        {
            float[] theta32 = RandomFloats(rng, n, 2);
            double[] theta64 = RandomDoubles(rng, n, 2);
            var vec32 = Param("v32", (float[])theta32.Clone());
            var vec64 = Param("v64", (double[])theta64.Clone());
            var single32 = Enumerable.Range(0, n).Select(i => Param($"s32_{i}", theta32[i])).ToArray();
            var single64 = Enumerable.Range(0, n).Select(i => Param($"s64_{i}", theta64[i])).ToArray();
            var optVec = create();
            var optScalar = create();
            var g = new Gradients();
            for (int s = 0; s < 3; s++)
            {
                float[] g32 = RandomFloats(rng, n, 1);
                double[] g64 = RandomDoubles(rng, n, 1);
                SetGradient(g, vec32, g32);
                SetGradient(g, vec64, g64);
                for (int i = 0; i < n; i++)
                {
                    SetGradient(g, single32[i], [g32[i]]);
                    SetGradient(g, single64[i], [g64[i]]);
                }
                optVec.Step([vec32, vec64], g);
                optScalar.Step([.. single32, .. single64], g);
            }
            Assert.That(Values32(vec32), Is.EqualTo(single32.Select(p => Values32(p)[0]).ToArray()), $"float, n = {n}");
            Assert.That(Values64(vec64), Is.EqualTo(single64.Select(p => Values64(p)[0]).ToArray()), $"double, n = {n}");
        }
    }

    [TestCaseSource(nameof(Configurations))]
    public void Float32AndFloat64Paths_Agree(Func<Optimizer> create)
    {
        // 30 steps from the same (float-representable) start and gradients; the float32 path stays within float32
        // round-off of the float64 one (steps are ≤ 0.1 per iteration here).
        var rng = new System.Random(5);
        double[] theta0 = [.. RandomFloats(rng, 23, 2).Select(x => (double)x)];
        double[][] grads = [.. Enumerable.Range(0, 30).Select(_ => RandomFloats(rng, 23, 1).Select(x => (double)x).ToArray())];
        var f = Run32(create(), theta0, grads);
        var d = Run64(create(), theta0, grads);
        for (int s = 0; s < grads.Length; s++)
            Assert.That(f[s].Select(x => (double)x), Is.EqualTo(d[s]).Within(1e-5), $"step {s + 1}");
    }

    [TestCaseSource(nameof(Configurations))]
    public void Step_AllocatesNothingAfterTheFirst(Func<Optimizer> create)
    {
        foreach (string clip in new[] { "none", "ClipNorm", "GlobalClipNorm", "ClipValue" })
        {
            var opt = create();
            switch (clip)
            {
                case "ClipNorm": opt.ClipNorm = 0.5; break;
                case "GlobalClipNorm": opt.GlobalClipNorm = 0.5; break;
                case "ClipValue": opt.ClipValue = 0.5; break;
            }
            var rng = new System.Random(1);
            Parameter[] parameters =
            [
                Param("a", RandomFloats(rng, 1000, 1)),
                Param("b", RandomFloats(rng, 17, 1)),
                Param("c", RandomDoubles(rng, 33, 1)),
                new Parameter("frozen", Tensor.FromArray(RandomFloats(rng, 5, 1), 5), trainable: false),
            ];
            IReadOnlyList<Parameter> list = parameters;
            var g = new Gradients();
            foreach (var p in parameters)
            {
                if (p.DType == DType.Float32) SetGradient(g, p, RandomFloats(rng, p.Size, 1));
                else SetGradient(g, p, RandomDoubles(rng, p.Size, 1));
            }
            // warm-up: state created, code jitted
            var allocated = SteadyStateAllocation.BytesPerRun(() => opt.Step(list, g), warmUps: 50, measured: 100);
            Assert.That(allocated, Is.All.EqualTo(0), $"clipping: {clip}");
        }
    }

    [TestCaseSource(nameof(Configurations))]
    public void StateRoundTrip_ContinuesBitIdentically(Func<Optimizer> create)
    {
        foreach (bool viaJson in new[] { false, true })
        {
            var rng = new System.Random(9);
            Parameter[] MakeParameters() =>
            [
                Param("dense/kernel", RandomFloats(new System.Random(2), 37, 1)),
                Param("dense/bias", RandomDoubles(new System.Random(4), 5, 1)),
                new Parameter("frozen", Tensor.FromArray([1f, 2f], 2), trainable: false),
            ];
            var original = MakeParameters();
            var optA = create();
            optA.ClipNorm = 3;
            var g = new Gradients();
            void Fill(Parameter[] ps, int step)
            {
                var r = new System.Random(100 + step);
                SetGradient(g, ps[0], RandomFloats(r, 37, 1));
                SetGradient(g, ps[1], RandomDoubles(r, 5, 1));
            }
            for (int s = 0; s < 5; s++) { Fill(original, s); optA.Step(original, g); }

            OptimizerState state = optA.GetState(original);
            if (viaJson) state = JsonSerializer.Deserialize<OptimizerState>(JsonSerializer.Serialize(state))!;

            var restored = MakeParameters();
            restored[0].Assign(original[0].Value);
            restored[1].Assign(original[1].Value);
            var optB = create();
            optB.ClipNorm = 3;
            optB.SetState(restored, state);
            Assert.That(optB.Iterations, Is.EqualTo(5));

            for (int s = 5; s < 10; s++)
            {
                Fill(original, s); optA.Step(original, g);
                Fill(restored, s); optB.Step(restored, g);
            }
            Assert.That(Values32(restored[0]), Is.EqualTo(Values32(original[0])), $"json: {viaJson}");
            Assert.That(Values64(restored[1]), Is.EqualTo(Values64(original[1])), $"json: {viaJson}");
            Assert.That(JsonSerializer.Serialize(optB.GetState(restored)), Is.EqualTo(JsonSerializer.Serialize(optA.GetState(original))));
        }
    }

    [Test]
    public void GetState_DescribesParametersAndSlots()
    {
        var opt = new Nadam();
        var p = new Parameter("lstm/kernel", Tensor.FromArray([1f, 2f, 3f, 4f, 5f, 6f], 2, 3));
        var g = new Gradients();
        SetGradient(g, p, [1f, 1f, 1f, 1f, 1f, 1f]);
        opt.Step([p], g);
        var state = opt.GetState([p]);
        Assert.Multiple(() =>
        {
            Assert.That(state.Optimizer, Is.EqualTo("Nadam"));
            Assert.That(state.Iterations, Is.EqualTo(1));
            Assert.That(state.LearningRate, Is.EqualTo(0.001));
            Assert.That(state.Scalars["u_product_float32"], Is.EqualTo((double)opt.MomentumProductFloat32));
            Assert.That(state.Scalars["u_product_float64"], Is.EqualTo(opt.MomentumProduct));
            Assert.That(state.Parameters[0].Name, Is.EqualTo("lstm/kernel"));
            Assert.That(state.Parameters[0].Shape, Is.EqualTo(new[] { 2, 3 }));
            Assert.That(state.Parameters[0].Slots.Select(s => s.Name), Is.EqualTo(new[] { "momentum", "velocity" }));
            // m = (1 − β1)·g = 0.10000002 (1 − 0.9f in float32); v = (1 − β2)·g² in float32.
            Assert.That(state.Parameters[0].Slots[0].Float32, Is.All.EqualTo(1f - 0.9f));
            Assert.That(state.Parameters[0].Slots[1].Float32, Is.All.EqualTo(1f - 0.999f));
            Assert.That(state.Parameters[0].Slots[0].Float64, Is.Null);
        });
    }

    [Test]
    public void SetState_ValidatesWithClearMessages_AndChangesNothingOnFailure()
    {
        var opt = new Adam();
        var p = Param("dense/bias", 1f, 2f, 3f);
        var g = new Gradients();
        SetGradient(g, p, [1f, 1f, 1f]);
        opt.Step([p], g);
        var good = opt.GetState([p]);
        float[] valuesBefore = Values32(p);
        var stateBefore = JsonSerializer.Serialize(opt.GetState([p]));

        OptimizerState Copy() => JsonSerializer.Deserialize<OptimizerState>(JsonSerializer.Serialize(good))!;
        void Expect(OptimizerState bad, IReadOnlyList<Parameter> ps, params string[] fragments)
        {
            var ex = Assert.Throws<ArgumentException>(() => opt.SetState(ps, bad));
            foreach (var f in fragments) Assert.That(ex!.Message, Does.Contain(f));
            Assert.That(JsonSerializer.Serialize(opt.GetState([p])), Is.EqualTo(stateBefore));
        }

        var wrongType = Copy(); wrongType.Optimizer = "Nadam";
        Expect(wrongType, [p], "'Nadam'");

        Expect(Copy(), [p, Param("extra", 1f)], "1 parameters", "2 were given");

        var shortSlot = Copy(); shortSlot.Parameters[0].Slots[1].Float32 = [0f, 0f];
        Expect(shortSlot, [p], "dense/bias", "'velocity'", "2 values", "3 elements");

        var wrongDType = Copy(); wrongDType.Parameters[0].DType = DType.Float64;
        Expect(wrongDType, [p], "dense/bias", "Float64");

        var missingArray = Copy(); missingArray.Parameters[0].Slots[0].Float32 = null;
        Expect(missingArray, [p], "'momentum'", "no Float32 array");

        var renamed = Copy(); renamed.Parameters[0].Slots[0].Name = "m";
        Expect(renamed, [p], "'m'", "'momentum'");

        var extraSlot = Copy(); extraSlot.Parameters[0].Slots.Add(new SlotState { Name = "velocity_hat", Float32 = [0f, 0f, 0f] });
        Expect(extraSlot, [p], "3 slots", "2");

        // A mean of squared gradients below zero would make the next step's square root NaN.
        var negativeVelocity = Copy(); negativeVelocity.Parameters[0].Slots[1].Float32 = [0f, -1e-3f, 0f];
        Expect(negativeVelocity, [p], "'velocity'", "negative value at index 1");
        var negativeMomentum = Copy(); negativeMomentum.Parameters[0].Slots[0].Float32 = [0f, -1e-3f, 0f];
        Assert.DoesNotThrow(() => new Adam().SetState([p], negativeMomentum), "a first moment may be negative");

        var nadam = new Nadam();
        var nadamState = nadam.GetState([p]);
        nadamState.Scalars.Clear();
        Assert.That(Assert.Throws<ArgumentException>(() => nadam.SetState([p], nadamState))!.Message, Does.Contain("u_product_float32"));

        Assert.That(Values32(p), Is.EqualTo(valuesBefore));
        Assert.That(opt.Iterations, Is.EqualTo(1));
    }

    [Test]
    public void ResetState_StartsOver()
    {
        var p = Param("w", 1f, -1f);
        var g = new Gradients();
        SetGradient(g, p, [0.3f, -0.7f]);
        var opt = new Nadam(learningRate: 0.1);
        for (int s = 0; s < 4; s++) opt.Step([p], g);
        opt.ResetState();
        var fresh = new Nadam(learningRate: 0.1);
        var q = Param("w2", Values32(p));
        SetGradient(g, q, [0.3f, -0.7f]);
        for (int s = 0; s < 3; s++)
        {
            opt.Step([p], g);
            fresh.Step([q], g);
        }
        Assert.That(Values32(p), Is.EqualTo(Values32(q)));
    }
}
