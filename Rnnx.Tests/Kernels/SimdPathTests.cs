using System.Runtime.Intrinsics;

namespace Rnnx.Tests.Kernels;

/// <summary>
/// The kernel suite is run under DOTNET_EnableAVX512=0, DOTNET_EnableAVX2=0 and DOTNET_EnableHWIntrinsic=0 to
/// reach the 256-bit, 128-bit and scalar code paths; this checks that the switches really took effect and logs
/// which widths the run exercised.
/// </summary>
[TestFixture]
public class SimdPathTests
{
    [Test]
    public void EnvironmentSwitchesSelectTheExpectedWidths()
    {
        TestContext.Out.WriteLine(
            $"Vector512 {Vector512.IsHardwareAccelerated}, Vector256 {Vector256.IsHardwareAccelerated}, " +
            $"Vector128 {Vector128.IsHardwareAccelerated}, FMA {System.Runtime.Intrinsics.X86.Fma.IsSupported}");
        if (Environment.GetEnvironmentVariable("DOTNET_EnableHWIntrinsic") == "0")
            Assert.That(Vector128.IsHardwareAccelerated, Is.False, "scalar path expected");
        if (Environment.GetEnvironmentVariable("DOTNET_EnableAVX2") == "0")
            Assert.That(Vector256.IsHardwareAccelerated, Is.False, "128-bit path expected");
        if (Environment.GetEnvironmentVariable("DOTNET_EnableAVX512") == "0")
            Assert.That(Vector512.IsHardwareAccelerated, Is.False, "256-bit path expected");
    }
}
