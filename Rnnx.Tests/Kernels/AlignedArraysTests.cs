using System.Runtime.CompilerServices;
using Rnnx.Kernels;

namespace Rnnx.Tests.Kernels;

/// <summary>
/// The tape's arenas and the kernels' per-thread scratch hand out buffers that start on a 64-byte boundary in memory,
/// not only at a multiple of 64 bytes from their array's start (an array's data starts wherever the GC put it).
/// </summary>
public class AlignedArraysTests
{
    private static unsafe long Address<T>(ref T element) => (long)Unsafe.AsPointer(ref element);

    [Test]
    public void ArenaRents_StartOn64ByteBoundaries_ThroughGrowthAndReset()
    {
        var floats = new Arena<float>();
        var doubles = new Arena<double>();
        var slots = new List<(long Slot, int Length)>();
        // odd lengths, a first segment outgrown (65536 elements) and a range reused after a release
        foreach (int length in new[] { 1, 3, 17, 100, 5000, 70000, 33, 1 << 17 })
        {
            var f = floats.Rent(length, out int fo, out long fs);
            var d = doubles.Rent(length, out int dOff, out _);
            Assert.That(Address(ref f[fo]) % 64, Is.Zero, $"float rent of {length}");
            Assert.That(Address(ref d[dOff]) % 64, Is.Zero, $"double rent of {length}");
            Assert.That(fo + length, Is.LessThanOrEqualTo(f.Length), "inside its array");
            slots.Add((fs, length));
        }
        floats.Release(slots[3].Slot, slots[3].Length);
        var reused = floats.Rent(40, out int ro, out long rs);
        Assert.That(rs, Is.EqualTo(slots[3].Slot), "the released range reused");
        Assert.That(Address(ref reused[ro]) % 64, Is.Zero, "a reused range");
        floats.Reset();   // the segments become one array of the step's extent
        for (int i = 0; i < 5; i++)
        {
            var f = floats.Rent(7 + 1000 * i, out int fo, out _);
            Assert.That(Address(ref f[fo]) % 64, Is.Zero, $"after the reset, rent {i}");
        }
    }

    [Test]
    public void KernelScratch_IsAligned_OfTheLengthAsked_AndGrows()
    {
        foreach (int length in new[] { 1, 15, 1024, 1025, 5000, 3 })
        {
            var f = KernelScratch<float>.Get(length);
            var d = KernelScratch<double>.Get(length);
            Assert.That((f.Length, d.Length), Is.EqualTo((length, length)));
            Assert.That(Address(ref f[0]) % 64, Is.Zero, $"float scratch of {length}");
            Assert.That(Address(ref d[0]) % 64, Is.Zero, $"double scratch of {length}");
        }
    }

    [Test]
    public void Grow_KeepsABufferWithRoom_AndReplacesOneWithout()
    {
        float[]? buffer = null;
        var first = AlignedArrays.Grow(ref buffer, 100);
        var kept = buffer;
        Assert.That(first.Length, Is.EqualTo(100));
        AlignedArrays.Grow(ref buffer, 1024);
        Assert.That(buffer, Is.SameAs(kept), "1024 elements are allocated at least");
        var grown = AlignedArrays.Grow(ref buffer, 5000);
        Assert.That(buffer, Is.Not.SameAs(kept));
        Assert.That(grown.Length, Is.EqualTo(5000));
        Assert.That(Address(ref grown[0]) % 64, Is.Zero);
    }
}
