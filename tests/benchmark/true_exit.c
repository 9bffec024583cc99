// SPDX-License-Identifier: Apache-2.0
// The program the exec storm runs: it exits 0 at once, so that a storm measures the
// kernel's exec and exit paths (and what execmond adds to them), not a program's work.
//
// On x86_64 and arm64 it is built -static -nostdlib: no dynamic loader and no libc
// start-up. That start-up is not cheap in a VM: glibc (static or dynamic) reads the CPU's
// features and cache sizes with cpuid, which traps to the hypervisor. On the 2-core VM of
// the first measurements, a static glibc `return 0` managed about 2,900 execs/s, two
// thirds of its time in init_cacheinfo; this program about 20,000.
#if defined(EXEC_STORM_NOSTDLIB) && defined(__x86_64__)
__attribute__((noreturn)) void _start(void)
{
	__asm__ volatile("mov $60, %eax\n\t" // exit(0)
			 "xor %edi, %edi\n\t"
			 "syscall");
	__builtin_unreachable();
}
#elif defined(EXEC_STORM_NOSTDLIB) && defined(__aarch64__)
__attribute__((noreturn)) void _start(void)
{
	__asm__ volatile("mov x8, #93\n\t" // exit(0)
			 "mov x0, #0\n\t"
			 "svc #0");
	__builtin_unreachable();
}
#else
int main(void)
{
	return 0;
}
#endif
